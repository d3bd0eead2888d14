/** A byte count for people: KB, MB or GB (binary units, as disks are shown by the system). */
export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GB`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`
  return `${Math.ceil(n / 1024)} KB`
}
