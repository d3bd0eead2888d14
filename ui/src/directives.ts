import type { Directive } from 'vue'

/**
 * Puts a test id on the native input inside an Element Plus control whose own root is a wrapper
 * (number inputs), or inside a plain element wrapping one (date pickers, whose root is not an element).
 */
export const vInputTestid: Directive<HTMLElement, string> = {
  mounted(el, { value }) {
    el.querySelector('input')?.setAttribute('data-testid', value)
  },
}
