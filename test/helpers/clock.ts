/** A clock the test moves (the app's `clock` option): click sessions, cap periods and endpoint health read it, nothing waits. */
export function testClock (start = new Date()) {
  let now = start.getTime()
  return {
    now: () => new Date(now),
    set (iso: string) { now = new Date(iso).getTime() },
    advance (ms: number) { now += ms },
  }
}
