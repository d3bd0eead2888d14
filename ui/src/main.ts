import { createApp, nextTick } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles.css'
import App from './App.vue'
import { commands } from './bindings'
import { i18n } from './i18n'
import { router } from './router'
import { installSessionProblemHandler } from './session-problems'
import { useSessionStore } from './stores/session'

const pinia = createPinia()
installSessionProblemHandler(router, useSessionStore(pinia))

createApp(App).use(pinia).use(i18n).use(router).use(ElementPlus).mount('#app')

// The first screen is interactive once the initial navigation has rendered.
void router
  .isReady()
  .then(() => nextTick())
  .then(() => commands.uiReady())
