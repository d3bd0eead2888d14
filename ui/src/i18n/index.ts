import { createI18n } from 'vue-i18n'
import type { Locale } from '../bindings'
import zhCN from './zh-CN'
import en from './en'

export const LOCALES: readonly Locale[] = ['zh-CN', 'en']

const STORAGE_KEY = 'venue-desk.locale'

export function storedLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY)
  return LOCALES.find((l) => l === saved) ?? 'zh-CN'
}

export function rememberLocale(locale: Locale): void {
  localStorage.setItem(STORAGE_KEY, locale)
}

export const i18n = createI18n({
  legacy: false,
  locale: storedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})
