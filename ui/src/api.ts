// The one module that talks to the Rust side. Every other module calls these
// typed functions; nothing else imports `invoke`. Errors arrive as
// `{code, message}` (CmdError) and are re-thrown as ApiError.

import { Channel, invoke, type InvokeArgs, type InvokeOptions } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppInfo, Attendee, AttendeeFilter, AttendeePage, CmdError, Counters, Direction,
  DeviceInfo, FrameScan, HubStatus, HubView, HourCount, PrintJob, AdmissionPrint, Printers, ImportProgress, JoinRequest, Joined, PairingCode, ImportResult, Preview, ScanOutcome, SearchRow, Settings, Status,
  Undone, WalkIn, WalkedIn, Stats, Report, Category, CategoryForm, CategoryRow, ImportCategories,
  ProposalRow, ProposalForm, ProposalPatch, ProposalQuery, IslandProposalInfo, ProposalDraft,
} from "./types";

export class ApiError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

async function call<T>(cmd: string, args?: InvokeArgs, options?: InvokeOptions): Promise<T> {
  try {
    return await invoke<T>(cmd, args, options);
  } catch (e) {
    const err = e as Partial<CmdError> | string;
    if (typeof err === "object" && err && typeof err.code === "string") {
      throw new ApiError(err.code, err.message ?? err.code);
    }
    throw new ApiError("ipc", String(e));
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
  scan: (payload: string, locationId: string, direction: Direction = "in") =>
    call<ScanOutcome>("scan", { payload, locationId, direction }),
  checkIn: (attendeeId: string, locationId: string, direction: Direction = "in") =>
    call<ScanOutcome>("check_in", { attendeeId, locationId, direction }),
  search: (query: string, limit = 12) => call<SearchRow[]>("search", { query, limit }),
  undoLast: (reason: string) => call<Undone>("undo_last", { reason }),
  counters: () => call<Counters>("counters"),
  countAnonymous: (locationId: string, direction: Direction) =>
    call<Counters>("count_anonymous", { locationId, direction }),
  hourly: (locationId: string) => call<HourCount[]>("hourly", { locationId }),
  walkIn: (person: WalkIn, locationId: string | null) => call<WalkedIn>("walk_in", { person, locationId }),
  attendees: (filter: AttendeeFilter, offset: number, limit: number) =>
    call<AttendeePage>("attendees", { filter, offset, limit }),
  setRevoked: (attendeeId: string, revoked: boolean, reason: string) =>
    call<Attendee>("set_revoked", { attendeeId, revoked, reason }),
  saveAttendee: (attendee: Attendee) => call<Attendee>("save_attendee", { attendee }),
  /** Statistics of one day (YYYY-MM-DD; today when absent) or "all". */
  stats: (day?: string) => call<Stats>("stats", { day: day ?? null }),
  exportAttendance: (format: "csv" | "xlsx", lang: string) => call<string>("export", { format, lang }),
  exportReport: (report: Report, format: "csv" | "xlsx" | "html" | "pdf", lang: string, day: string, anonymous = false) =>
    call<string>("export", { report, format, lang, day, anonymous }),
  importPreview: (bytes: Uint8Array, mapping: [string, string][]) =>
    call<Preview>("import_preview", { bytes: Array.from(bytes), choice: { mapping } }),
  /** The file's category values the event does not have, and where the map sends others. */
  importCategories: (bytes: Uint8Array, mapping: [string, string][], categoryMap: [string, string][]) =>
    call<ImportCategories>("import_categories", { bytes: Array.from(bytes), choice: { mapping, category_map: categoryMap } }),
  importApply: (
    bytes: Uint8Array,
    mapping: [string, string][],
    skipBadRows: boolean,
    onProgress: (p: ImportProgress) => void,
    categoryMap: [string, string][] = [],
  ) => {
    const progress = new Channel<ImportProgress>();
    progress.onmessage = onProgress;
    return call<ImportResult>("import_apply", {
      bytes: Array.from(bytes),
      choice: { mapping, skip_bad_rows: skipBadRows, category_map: categoryMap },
      progress,
    });
  },
  categories: () => call<CategoryRow[]>("categories"),
  saveCategory: (form: CategoryForm) => call<Category>("save_category", { form }),
  removeCategory: (code: string) => call<Category>("remove_category", { code }),
  markReady: (screen: string) => call<number>("mark_ready", { screen }),
  printers: () => call<Printers>("printers"),
  /** A badge already printed needs a reason (else `reprint_reason`). */
  printBadge: (attendeeId: string, reason: string | null = null) =>
    call<PrintJob>("print_badge", { attendeeId, reason }),
  printAtAdmission: (attendeeId: string) => call<AdmissionPrint>("print_at_admission", { attendeeId }),
  kioskPinSet: () => call<boolean>("kiosk_pin_set"),
  setKioskPin: (pin: string) => call<null>("set_kiosk_pin", { pin }),
  leaveKiosk: (pin: string) => call<Settings>("leave_kiosk", { pin }),
  printBatch: (category: string, notPrinted: boolean, layout: string) =>
    call<PrintJob>("print_batch", { category, notPrinted, layout }),
  confirmPrinted: (job: string) => call<string>("confirm_printed", { job }),
  joinEvent: (join: JoinRequest) => call<Joined>("join_event", { join }),
  devices: () => call<DeviceInfo[]>("devices"),
  revokeDevice: (deviceId: string) => call<DeviceInfo>("revoke_device", { deviceId }),
  createPairingCode: (role: string) => call<PairingCode>("create_pairing_code", { role }),
  hubState: () => call<HubView>("hub_state"),
  startHub: (port: number | null) => call<HubView>("start_hub", { port }),
  stopHub: () => call<HubView>("stop_hub"),
  /** null or blank forgets the address. */
  setHubAddress: (address: string | null) => call<HubView>("set_hub_address", { address }),
  onHub: (f: (s: HubStatus) => void): Promise<UnlistenFn> => listen<HubStatus>("hub", (e) => f(e.payload)),
  /** Other desks' changes applied here (payload: how many). */
  onChanges: (f: (n: number) => void): Promise<UnlistenFn> => listen<number>("changes", (e) => f(e.payload)),
  onStatus: (f: (s: Status) => void): Promise<UnlistenFn> => listen<Status>("status", (e) => f(e.payload)),
  /** The search index, built in the background at start-up, is ready. */
  onSearchReady: (f: () => void): Promise<UnlistenFn> => listen("search-ready", () => f()),
  /**
   * One camera frame for decoding: 8-bit grey, width × height bytes, sent
   * as the raw request body (no JSON); the size travels in headers.
   */
  decodeFrame: (grey: Uint8Array, width: number, height: number) =>
    call<FrameScan>("decode_frame", grey, {
      headers: { "x-frame-width": String(width), "x-frame-height": String(height) },
    }),
  cameraReset: () => call<null>("camera_reset"),
  addProposal: (form: ProposalForm) => call<ProposalRow>("add_proposal", { form }),
  editProposal: (id: string, patch: ProposalPatch) => call<ProposalRow>("edit_proposal", { id, patch }),
  proposals: (filter: ProposalQuery) => call<ProposalRow[]>("proposals", { filter }),
  islandProposals: (islandId: string) => call<IslandProposalInfo>("island_proposals", { islandId }),
  setIslandTopics: (islandId: string, topics: string[]) => call<string[]>("set_island_topics", { islandId, topics }),
  saveProposalDraft: (draft: ProposalDraft) => call<null>("save_proposal_draft", { draft }),
  proposalDraft: () => call<ProposalDraft | null>("proposal_draft"),
  discardProposalDraft: () => call<null>("discard_proposal_draft"),
  exportProposals: (format: "csv" | "xlsx", lang: string, filter: ProposalQuery) =>
    call<string>("export_proposals", { format, lang, filter }),
  proposalsPdf: (lang: string, filter: ProposalQuery) => call<string>("proposals_pdf", { lang, filter }),
};
