import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { call } from '../api'
import { commands, type RoomView } from '../bindings'

/** The venue's rooms, shared by the calendar, the booking dialogs and the rooms screen. */
export const useRoomsStore = defineStore('rooms', () => {
  const rooms = ref<RoomView[]>([])
  let loading: Promise<void> | null = null

  /** The rooms that can be booked, in the venue file's order. */
  const active = computed(() => rooms.value.filter((r) => r.active))

  /** Loads the rooms once; `reload` asks again (after an edit elsewhere, or a refused stale edit). */
  function load(reload = false): Promise<void> {
    if (reload || !loading) {
      loading = call(commands.listRooms()).then(
        (list) => {
          rooms.value = list
        },
        (e: unknown) => {
          loading = null
          throw e
        },
      )
    }
    return loading
  }

  function replace(updated: RoomView): void {
    rooms.value = rooms.value.map((r) => (r.id === updated.id ? updated : r))
  }

  function nameOf(id: string): string {
    return rooms.value.find((r) => r.id === id)?.name ?? id
  }

  return { rooms, active, load, replace, nameOf }
})
