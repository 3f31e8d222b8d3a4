export { startPartnerEmulator, PARTNER_EMULATOR_STATE_FILE } from "./partner-emulator.js";
export type { PartnerEmulator, PartnerEmulatorOptions, PartnerFaultMode, PartnerFaultOptions } from "./partner-emulator.js";
export type { PartnerCharge } from "./partner-state.js";
