//! Versioned schema migrations. A migration that has shipped is never edited:
//! add a new one at the end instead.

use rusqlite_migration::{M, Migrations};

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    days       TEXT NOT NULL,          -- JSON array of YYYY-MM-DD
    timezone   TEXT NOT NULL,
    categories TEXT NOT NULL,          -- JSON array of categories
    hlc        TEXT NOT NULL
) STRICT;

-- Ed25519 keys of an event. Desks hold public keys only; the secret is kept
-- where the event was created (coordinator desk or server).
CREATE TABLE event_keys (
    event_id   TEXT NOT NULL REFERENCES events(id),
    key_id     INTEGER NOT NULL CHECK (key_id BETWEEN 0 AND 255),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    secret_key BLOB CHECK (secret_key IS NULL OR length(secret_key) = 32),
    retired    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, key_id)
) STRICT;

CREATE TABLE locations (
    id            TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL REFERENCES events(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('entrance', 'zone')),
    allow_reentry INTEGER NOT NULL DEFAULT 0,
    hlc           TEXT NOT NULL,
    UNIQUE (event_id, name)
) STRICT;

CREATE TABLE devices (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hlc  TEXT NOT NULL
) STRICT;

CREATE TABLE attendees (
    id           TEXT PRIMARY KEY,
    event_id     TEXT NOT NULL REFERENCES events(id),
    full_name    TEXT NOT NULL,
    latin_name   TEXT,
    organization TEXT,
    position     TEXT,
    category     TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    days         TEXT NOT NULL DEFAULT '[]',   -- JSON array; empty = every day
    notes        TEXT,
    badge_issue  INTEGER NOT NULL DEFAULT 0,
    hlc          TEXT NOT NULL                -- last accepted edit
) STRICT;
CREATE INDEX attendees_event_email ON attendees(event_id, email) WHERE email IS NOT NULL;

CREATE TABLE ticket_codes (
    event_id    TEXT NOT NULL REFERENCES events(id),
    code        TEXT NOT NULL,
    attendee_id TEXT NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, code)
) STRICT;
CREATE INDEX ticket_codes_attendee ON ticket_codes(attendee_id);

-- Revoked people, apart from their details so that an edit never undoes a
-- revocation and a revocation that arrives before the person still holds.
CREATE TABLE revocations (
    attendee_id TEXT PRIMARY KEY,
    revoked     INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    hlc         TEXT NOT NULL
) STRICT;

-- Badges that must no longer be accepted (lost, stolen), by attendee and issue.
CREATE TABLE revoked_badges (
    attendee_id TEXT NOT NULL,
    issue       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (attendee_id, issue)
) STRICT;

-- Every passage. attendee_id has no foreign key on purpose: a desk may admit
-- a validly signed badge of a person it has not synced yet.
CREATE TABLE checkins (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES events(id),
    attendee_id TEXT,
    location_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    method      TEXT NOT NULL CHECK (method IN ('scan', 'search', 'manual')),
    at_ms       INTEGER NOT NULL,
    day         TEXT NOT NULL,
    annulled_by TEXT,
    hlc         TEXT NOT NULL
) STRICT;
CREATE INDEX checkins_attendee_day ON checkins(attendee_id, day) WHERE attendee_id IS NOT NULL;
CREATE INDEX checkins_location_day ON checkins(location_id, day);
CREATE INDEX checkins_device_at ON checkins(device_id, at_ms);

CREATE TABLE annulments (
    id         TEXT PRIMARY KEY,
    checkin_id TEXT NOT NULL,
    reason     TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    hlc        TEXT NOT NULL
) STRICT;
CREATE INDEX annulments_checkin ON annulments(checkin_id);

-- Every scan attempt and its verdict, accepted or not, with the reason.
CREATE TABLE scans (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL,
    location_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    attendee_id TEXT,
    checkin_id  TEXT
) STRICT;
CREATE INDEX scans_location_at ON scans(location_id, at_ms);

-- The change log: every change, local or received, in the order this desk
-- applied it. Local rows with pushed = 0 are the outbox the sync ships.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    kind      TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    hlc       TEXT NOT NULL,
    device_id TEXT NOT NULL,
    payload   TEXT NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    pushed    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX changes_outbox ON changes(seq) WHERE origin = 'local' AND pushed = 0;
"#;

/// The badge print log: which badge (attendee and issue) went to print, when,
/// on which desk, in which layout. One row per badge per print job; filled
/// only by `Change::BadgePrinted`, so it syncs like every other change.
const V2_BADGE_PRINTS: &str = r#"
CREATE TABLE badge_prints (
    print_id    TEXT NOT NULL,
    attendee_id TEXT NOT NULL,
    issue       INTEGER NOT NULL,
    layout      TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (print_id, attendee_id)
) STRICT;
CREATE INDEX badge_prints_attendee ON badge_prints(attendee_id, issue);
"#;

/// Start-up at 100,000 attendees: the newest HLC (read at every open) and
/// the attendee count were full scans of the two biggest tables.
const V3_START_INDEXES: &str = r#"
CREATE INDEX changes_hlc ON changes(hlc);
CREATE INDEX attendees_event ON attendees(event_id);
"#;

/// Desks' own badge keys and revoked desks (see `docs/badge-format.md`,
/// "Desk keys"). A key is bound to the desk that published it; the secret is
/// kept only on that desk. Key ids may repeat across desks.
const V4_DEVICE_KEYS: &str = r#"
CREATE TABLE device_keys (
    event_id   TEXT NOT NULL,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    device_id  TEXT NOT NULL,
    key_id     INTEGER NOT NULL CHECK (key_id BETWEEN 128 AND 255),
    secret_key BLOB CHECK (secret_key IS NULL OR length(secret_key) = 32),
    hlc        TEXT NOT NULL,
    PRIMARY KEY (event_id, public_key, device_id)
) STRICT;
CREATE INDEX device_keys_key_id ON device_keys(event_id, key_id);

-- Desks a coordinator revoked, with the earliest revocation's time.
CREATE TABLE revoked_devices (
    device_id TEXT PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    reason    TEXT NOT NULL
) STRICT;
"#;

/// What the statistics read: one narrow row per check-in (ids as 16-byte
/// blobs, the day as days since 1970-01-01, flags bit 0 "in", bit 1
/// "annulled"). A full dashboard reads every check-in; the `checkins` rows
/// carry five 36-character ids each, and reading and parsing them was most
/// of the time (issue 7: 300,000 check-ins and 100,000 zone events in
/// ≤ 200 ms). Written with `checkins` in the same transaction
/// (`changes::materialise`); existing check-ins are copied here.
pub(crate) const V5_CHECKIN_FACTS: &str = r#"
CREATE TABLE checkin_facts (
    event    BLOB NOT NULL,
    id       BLOB NOT NULL,
    attendee BLOB,
    location BLOB NOT NULL,
    device   BLOB NOT NULL,
    at_ms    INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    flags    INTEGER NOT NULL,
    PRIMARY KEY (event, id)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO checkin_facts (id, event, attendee, location, device, at_ms, day, flags)
SELECT unhex(replace(id, '-', '')), unhex(replace(event_id, '-', '')),
       unhex(replace(attendee_id, '-', '')), unhex(replace(location_id, '-', '')),
       unhex(replace(device_id, '-', '')), at_ms, unixepoch(day) / 86400,
       (direction = 'in') | (CASE WHEN annulled_by IS NULL THEN 0 ELSE 2 END)
FROM checkins;
"#;

/// The facts packed into one blob per check-in (see
/// [`crate::store::facts::fact_bytes`]: id, attendee — zero for an anonymous
/// count —, location, device, 8-byte big-endian `at_ms`, 4-byte big-endian
/// day), with the mutable flags beside it. SQLite hands out one column at a
/// time; reading two instead of seven halves the full dashboard's read.
pub(crate) const V6_PACKED_FACTS: &str = r#"
CREATE TABLE checkin_facts_v6 (
    event BLOB NOT NULL,
    id    BLOB NOT NULL,
    fact  BLOB NOT NULL,
    flags INTEGER NOT NULL,
    PRIMARY KEY (event, id)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO checkin_facts_v6 (event, id, fact, flags)
SELECT event, id,
       CAST(id || coalesce(attendee, zeroblob(16)) || location || device
            || unhex(printf('%016x', at_ms)) || unhex(printf('%08x', day & 4294967295)) AS BLOB),
       flags
FROM checkin_facts;
DROP TABLE checkin_facts;
ALTER TABLE checkin_facts_v6 RENAME TO checkin_facts;
"#;

/// Who may author changes (see `store::keyring`): the devices the central
/// server enrolled, the hall hubs coordinators authorised, and the changes
/// this desk refused (reported in Diagnostics and to the coordinator).
const V7_TRUST: &str = r#"
CREATE TABLE enrolled_devices (
    device_id  TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32),
    name       TEXT NOT NULL,
    hlc        TEXT NOT NULL
) STRICT;

CREATE TABLE hub_keys (
    hub_id         TEXT PRIMARY KEY,
    public_key     BLOB NOT NULL CHECK (length(public_key) = 32),
    coordinator_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    tls_fp         TEXT NOT NULL,
    active         INTEGER NOT NULL,
    hlc            TEXT NOT NULL
) STRICT;

CREATE TABLE refused_changes (
    change_id TEXT NOT NULL,
    author    TEXT NOT NULL,
    code      TEXT NOT NULL,
    message   TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (change_id, author, code)
) STRICT;
"#;

/// The event's categories as coordinators edit them (`category` changes),
/// last writer wins per code; laid over the categories of the event record.
const V8_CATEGORIES: &str = r#"
CREATE TABLE categories (
    event_id TEXT NOT NULL,
    code     TEXT NOT NULL,
    label_ru TEXT NOT NULL,
    label_en TEXT NOT NULL,
    color    TEXT NOT NULL,
    days     TEXT NOT NULL DEFAULT '[]',   -- JSON array; empty = every day
    removed  INTEGER NOT NULL DEFAULT 0,
    hlc      TEXT NOT NULL,
    PRIMARY KEY (event_id, code)
) STRICT;

-- An attendee the desk must pay attention to (the card stays until dismissed).
ALTER TABLE attendees ADD COLUMN attention INTEGER NOT NULL DEFAULT 0;
"#;

/// Why a badge was printed again (the print log), and the kiosks' exit PIN
/// (`kiosk_pin` changes, last writer wins; only its Argon2id hash).
const V9_PRINT_REASONS_KIOSK_PIN: &str = r#"
ALTER TABLE badge_prints ADD COLUMN reason TEXT;
CREATE TABLE kiosk_pin (
    event_id TEXT PRIMARY KEY,
    hash     TEXT NOT NULL,
    hlc      TEXT NOT NULL
) STRICT;
"#;

/// Participants' proposals taken at the islands (`proposal` and
/// `proposal_edit` changes): each field is its own last-writer-wins register,
/// its HLC in `field_hlc` (JSON: field → HLC). Titles and texts are searched
/// by substring in any script through an FTS5 trigram index of their folded
/// form. Island topics as coordinators set them.
const V10_PROPOSALS: &str = r#"
CREATE TABLE proposals (
    id           TEXT PRIMARY KEY,
    island_id    TEXT NOT NULL,
    author       TEXT NOT NULL,                 -- JSON ProposalAuthor
    attendee_id  TEXT,                          -- the author, when an attendee
    title        TEXT NOT NULL,
    text         TEXT NOT NULL,
    topics       TEXT NOT NULL DEFAULT '[]',    -- JSON array
    consent      INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'new',
    status_by    TEXT,
    status_at_ms INTEGER,
    device_id    TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    field_hlc    TEXT NOT NULL                  -- JSON: field -> HLC
) STRICT;
CREATE INDEX proposals_island ON proposals(island_id, at_ms);
CREATE INDEX proposals_attendee ON proposals(attendee_id);

-- The title and text folded (lower case, ё as е), written by the store
-- beside each proposal (`proposals::reindex`), searched by trigram.
CREATE VIRTUAL TABLE proposals_fts USING fts5(body, tokenize = 'trigram');

CREATE TABLE island_topics (
    island_id TEXT PRIMARY KEY,
    topics    TEXT NOT NULL,   -- JSON array
    hlc       TEXT NOT NULL
) STRICT;
"#;

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2_BADGE_PRINTS),
        M::up(V3_START_INDEXES),
        M::up(V4_DEVICE_KEYS),
        M::up(V5_CHECKIN_FACTS),
        M::up(V6_PACKED_FACTS),
        M::up(V7_TRUST),
        M::up(V8_CATEGORIES),
        M::up(V9_PRINT_REASONS_KIOSK_PIN),
        M::up(V10_PROPOSALS),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
