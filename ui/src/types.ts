// Shapes of what the Rust commands return (see src-tauri/src/commands.rs and
// checkin-core). Kept by hand; the tauri::test tests pin the Rust side.

export type Role = "entrance" | "island" | "coordinator" | "kiosk";
export type Lang = "ru" | "en";
export type LocationKind = "entrance" | "zone";
export type Direction = "in" | "out";

export interface Category { code: string; label_ru: string; label_en: string; color: string; days?: string[] }
/** A category with how many attendees are in it (coordinator screen). */
export interface CategoryRow extends Category { attendees: number }
/** What the category form sends: no code to add one. */
export interface CategoryForm { code: string | null; label_ru: string; label_en: string; color: string; days: string[] }
/** A category value of a registration file and the code it gets or goes to. */
export interface CategoryValue { value: string; rows: number; code: string }
export interface ImportCategories { new_categories: CategoryValue[]; mapped_categories: CategoryValue[]; rows: number; errors: number }
export interface EventInfo { id: string; name: string; days: string[]; timezone: string; categories: Category[] }
export interface Location { id: string; name: string; kind: LocationKind; allow_reentry: boolean }
export interface Device { id: string; name: string }

export interface Settings {
  role: Role | null;
  location_id: string | null;
  language: Lang;
  sound: boolean;
  database?: string | null;
  badge_layout: "a6" | "label-62x100";
  printer: string | null;
  /** The viewfinder's camera (device id); null: the first one; "off": none. */
  camera?: string | null;
  /** Run the hall hub on this coordinator desk (started with the app). */
  hub?: boolean;
  hub_port?: number;
  /** Entrance desks: print the badge at first admission. */
  print_on_admit?: boolean;
}

/** The hall hub's link to the central server and its counts. */
export interface HubStatus {
  url: string;
  upstream: "connecting" | "online" | "offline" | "refused";
  upstream_url: string;
  relayed: number;
  received: number;
  devices: number;
  last_upstream_ms: number | null;
  last_error: string | null;
}

/** The hall hub as the Devices pane shows it (hub_state, start_hub, …). */
export interface HubView {
  available: boolean;
  running: boolean;
  port: number;
  addresses: string[];
  announced: boolean;
  status: HubStatus | null;
  /** The hub address given by hand at this desk. */
  manual: string | null;
}

/** One QR code the camera saw (decode_frame). */
export interface FrameCode {
  /** null: the code's bytes are not text we can name (not scanned). */
  text: string | null;
  /** Outline in frame pixels, clockwise from the symbol's top-left. */
  corners: [number, number][];
  /** First sighting within the de-dup window: scan it. */
  fresh: boolean;
}

export interface FrameScan {
  dropped: boolean;
  codes: FrameCode[];
  decode_ms: number;
  frames_decoded: number;
  frames_dropped: number;
}

export interface Printers { lp: boolean; printers: string[] }
export interface PrintJob {
  job: string; pdf: string; badges: number; pages: number;
  sent: "printed" | "opened" | "saved"; print_id: string | null;
}

/** What printing at admission did ("off": this desk does not). */
export interface AdmissionPrint {
  state: "printed" | "opened" | "saved" | "already" | "off";
  job: PrintJob | null;
}

export interface Status {
  mode: "standalone" | "connecting" | "online" | "offline" | "refused";
  server: string | null;
  /** Through what the desk syncs now: the central server, the hall's hub, or nothing. */
  route: "server" | "hub" | "none" | null;
  waiting: number;
  last_sync: string | null;
  sync_role: string | null;
  last_error: string | null;
  clock_offset_ms: number;
  /** Addresses where a hub no coordinator authorised announced itself (ignored). */
  unknown_hubs?: string[];
  /** Changes from other desks this desk refused (forged or altered). */
  refused?: number;
}

export type SyncRole = "volunteer" | "host" | "coordinator";
export interface JoinRequest { text?: string; server?: string; code?: string; desk_name?: string }
export interface Joined { event_id: string; role: SyncRole; server: string; database: string; event_ready: boolean }
export interface DeviceInfo {
  id: string; name: string; role: SyncRole; event_id: string;
  paired_at_ms: number; last_seen_ms: number | null; revoked: boolean;
  /** Changes of this desk the server or a hub refused (forged claims, bad signatures, clocks far ahead). */
  refused: number;
}
export interface PairingCode {
  code: string; role: SyncRole; event_id: string; expires_at_ms: number; pairing_uri: string; qr_svg: string;
}

export interface AppInfo {
  event: EventInfo;
  device: Device;
  locations: Location[];
  settings: Settings;
  attendees: number;
  demo: boolean;
  started_ms: number;
  status: Status;
  data_dir: string;
  database: string;
  can_issue_badges: boolean;
}

export interface AttendeeSummary {
  id: string;
  full_name: string;
  latin_name: string | null;
  organization: string | null;
  position: string | null;
  category: string;
  category_label_ru: string;
  category_label_en: string;
  category_color: string;
  /** The note for the desk, in its own band on the card. */
  note?: string | null;
  /** Hold the card (with its own sound) until the volunteer dismisses it. */
  attention?: boolean;
}

export interface PriorCheckIn {
  checkin_id: string;
  at: string;
  location_id: string;
  location_name: string;
  device_id: string;
  device_name: string;
}

export type VerdictName =
  | "admitted"
  | "already_checked_in"
  | "not_valid_today"
  | "revoked"
  | "unknown_badge"
  | "wrong_event"
  | "invalid_signature"
  | "malformed";

export interface ScanOutcome {
  scan_id: string;
  verdict: VerdictName;
  attendee?: AttendeeSummary | null;
  checkin_id?: string;
  direction?: Direction;
  visit?: number;
  first?: PriorCheckIn;
  valid_days?: string[];
  reason: string;
  day: string;
  location_id: string;
}

export interface Attendee {
  id: string;
  full_name: string;
  latin_name: string | null;
  organization: string | null;
  position: string | null;
  category: string;
  email: string | null;
  phone: string | null;
  days: string[];
  ticket_codes: string[];
  notes: string | null;
  attention?: boolean;
  revoked: boolean;
  badge_issue: number;
}

export interface SearchRow extends Attendee { checked_in_at: string | null }
export interface AttendeeRow extends Attendee { checked_in_at: string | null; printed?: boolean }
export interface AttendeePage { total: number; offset: number; rows: AttendeeRow[] }
export interface AttendeeFilter { text: string; category: string; status: "" | "all" | "checked_in" | "not_checked_in" | "revoked" }

export interface LocationCounter {
  location_id: string;
  name: string;
  kind: LocationKind;
  people: number;
  entries: number;
  exits: number;
  anonymous_in: number;
  anonymous_out: number;
  occupancy: number;
}

export interface Counters { day: string; expected: number; checked_in: number; locations: LocationCounter[] }
export interface HourCount { hour: number; entries: number; exits: number }
/** `checkin_core::stats`: one event day, as the dashboard shows it. */
export interface QuarterCount { minute: number; people: number; admissions: number }
export interface EntranceStats { location_id: string; name: string; people: number; admissions: number; exits: number; quarters: QuarterCount[] }
export interface CategoryStats { code: string; label_ru: string; label_en: string; expected: number; checked_in: number; no_shows: number }
export interface ZoneStats {
  location_id: string; name: string; hours: HourCount[]; entries: number; exits: number; badge_entries: number;
  unique_visitors: number; repeat_visits: number; anonymous_in: number; anonymous_out: number;
  occupancy_now: number; peak_occupancy: number; peak_at: string | null; dwell_pairs: number; dwell_median_secs: number | null;
}
export interface DeviceActivity { device_id: string; name: string; checkins: number; admissions: number; last_at: string | null }
export interface DayStats {
  day: string; expected: number; checked_in: number; no_shows: number; duplicates: number;
  categories: CategoryStats[]; entrances: EntranceStats[]; zones: ZoneStats[]; devices: DeviceActivity[];
  proposals?: ProposalStats;
}
export interface ProposalStats {
  total: number;
  islands: { location_id: string; name: string; total: number; hours: [number, number][] }[];
  topics: { topic: string; count: number }[];
  statuses: { status: ProposalStatus; count: number }[];
}
export interface Stats { event_id: string; event_name: string; timezone: string; generated_at: string; days: DayStats[] }
export type Report = "attendance" | "zones" | "no-shows" | "summary" | "checklist";
export interface Undone { checkin_id: string; annulment_id: string; attendee_name: string | null }
export interface WalkIn { full_name: string; organization?: string; position?: string; category: string; email?: string; phone?: string }
export interface WalkedIn { attendee: Attendee; token: string; outcome: ScanOutcome | null }

export interface Preview {
  format: "csv" | "xlsx";
  encoding: string | null;
  delimiter: string | null;
  sheet: string | null;
  sheets: string[];
  header_line: number;
  headers: string[];
  columns: (string | null)[];
  name_found: boolean;
  rows: string[][];
  lines: number[];
}
export interface RowError { line: number; message: string }
export interface ImportReport {
  created: number; updated: number; unchanged: number; skipped: RowError[];
  categories_created: Category[]; categories_mapped: CategoryValue[];
}
export interface ImportResult { errors: RowError[]; report: ImportReport | null }
export interface ImportProgress { stage: "read" | "write"; rows_done: number; rows_total: number | null }

/** What every command rejects with. */
export interface CmdError { code: string; message: string }

export type ProposalStatus = "new" | "shortlisted" | "presented" | "declined";
export interface ProposalAuthor { attendee_id?: string | null; name?: string | null; organization?: string | null; contact?: string | null }
export interface ProposalRow {
  id: string; island_id: string; author: ProposalAuthor; title: string; text: string; topics: string[];
  consent: boolean; status: ProposalStatus; status_by?: string | null; status_at_ms?: number | null;
  device_id: string; at_ms: number;
  island_name: string; author_name: string; author_organization: string | null;
}
export interface ProposalForm { island_id: string; author: ProposalAuthor; title: string; text: string; topics: string[]; consent: boolean }
export interface ProposalPatch { author?: ProposalAuthor; title?: string; text?: string; topics?: string[]; consent?: boolean; status?: ProposalStatus }
export interface ProposalQuery { island_id?: string | null; topic?: string | null; status?: ProposalStatus | null; day?: string | null; query?: string | null; limit?: number | null }
export interface IslandProposalInfo { topics: string[]; today: number }
/** The form as typed so far, kept on disk by the app. */
export interface ProposalDraft { form: ProposalForm; author_label: string; editing: string | null }
