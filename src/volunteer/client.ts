/**
 * The volunteer client's entry point, as the page, the embed frame and tests import it:
 * `VolunteerClient.create(options)` builds one from its components (create-volunteer.ts); the
 * state it publishes is described in state.ts.
 */
import { createVolunteer } from './create-volunteer.ts'
import type { Volunteer, VolunteerOptions } from './create-volunteer.ts'

export type { Volunteer, VolunteerOptions } from './create-volunteer.ts'
export { DEFAULT_START_MS } from './runner-pool.ts'
export type { ConnectionState, DeviceInfo, HistorySample, RunState, SlotState, VolunteerState } from './state.ts'

/** The client object (see create-volunteer.ts for each member). */
export type VolunteerClient = Volunteer

export const VolunteerClient = {
  /**
   * Open the store and identity, start the libp2p node and connect to the hub.
   * @throws Error when IndexedDB is refused or libp2p cannot start
   */
  async create (opts: VolunteerOptions): Promise<VolunteerClient> {
    return await createVolunteer(opts)
  }
}
