import type { FormItemRule } from 'element-plus'
import type { ComposerTranslation } from 'vue-i18n'

// Messages are functions so that they follow a language switch made after the form was built.

export function requiredRule(t: ComposerTranslation): FormItemRule {
  return { required: true, trigger: 'blur', validator: (_rule, value: string, done) => done(value.trim() ? undefined : new Error(t('common.required'))) }
}

/** The second password field must repeat the first. */
export function confirmRule(t: ComposerTranslation, first: () => string): FormItemRule {
  return { trigger: 'blur', validator: (_rule, value: string, done) => done(value === first() ? undefined : new Error(t('password.mismatch'))) }
}

/** A choice (a select, a date) must be made. */
export function chosenRule(t: ComposerTranslation): FormItemRule {
  return { required: true, trigger: 'change', validator: (_rule, value: unknown, done) => done(value === null || value === '' ? new Error(t('common.required')) : undefined) }
}
