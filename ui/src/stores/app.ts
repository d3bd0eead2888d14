import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { call, errorMessage } from '../api'
import { commands, type AppInfo, type Locale } from '../bindings'
import { i18n, rememberLocale } from '../i18n'

/** What the window knows before anyone signs in: the venue, the version, and the UI language. */
export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null)
  const loadFailure = ref<string | null>(null)
  const locale = ref<Locale>(i18n.global.locale.value)
  let loading: Promise<void> | null = null

  const startupError = computed(() => info.value?.startupError?.message ?? loadFailure.value)
  const firstRun = computed(() => info.value?.firstRun ?? false)
  const venueName = computed(() => info.value?.venueName ?? '')
  const timeZone = computed(() => info.value?.timeZone ?? undefined)

  function load(): Promise<void> {
    loading ??= (async () => {
      document.documentElement.lang = locale.value
      try {
        // Before appInfo, so that a start-up error comes back in the UI language.
        await commands.setLocale(locale.value)
        info.value = await call(commands.appInfo())
      } catch (e) {
        loadFailure.value = errorMessage(e)
      }
    })()
    return loading
  }

  async function setLocale(next: Locale): Promise<void> {
    locale.value = next
    i18n.global.locale.value = next
    document.documentElement.lang = next
    rememberLocale(next)
    await commands.setLocale(next)
  }

  function firstAdministratorCreated(): void {
    if (info.value) info.value.firstRun = false
  }

  return { info, locale, startupError, firstRun, venueName, timeZone, load, setLocale, firstAdministratorCreated }
})
