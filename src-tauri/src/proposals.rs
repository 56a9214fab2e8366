//! Participants' proposals at the islands: the host's form (and its draft,
//! kept on disk so a restart or a crash loses nothing typed), the island's
//! list, the coordinator's view with filters, statuses and exports.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use checkin_core::model::{Proposal, ProposalAuthor, ProposalPatch, ProposalStatus};
use checkin_core::reports::Lang;
use checkin_core::store::Store;
use checkin_core::store::proposals::{NewProposal, ProposalFilter};
use checkin_tables::export::{ExportFormat, TableWriter};

use crate::{CmdError, CmdResult, Desk};

/// The desk may write proposals: an island desk or a coordinator desk (and
/// not one the server paired as a volunteer's).
fn require_proposal_desk(desk: &Desk, store: &Store) -> CmdResult<()> {
    let role = desk.settings.lock().ok().and_then(|s| s.role.clone());
    let paired = checkin_sync::client::Pairing::load(store)
        .ok()
        .flatten()
        .map(|p| p.role);
    let ok = matches!(role.as_deref(), Some("island" | "coordinator"))
        && paired != Some(checkin_sync::protocol::Role::Volunteer);
    if ok {
        Ok(())
    } else {
        Err(CmdError::new(
            "forbidden",
            "proposals are taken at island desks and by coordinators",
        ))
    }
}

/// A proposal with what the screens show beside it.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalRow {
    #[serde(flatten)]
    pub proposal: Proposal,
    pub island_name: String,
    /// The author's name and organization: the attendee's, or as typed.
    pub author_name: String,
    pub author_organization: Option<String>,
}

fn rows(store: &Store, list: Vec<Proposal>) -> CmdResult<Vec<ProposalRow>> {
    let locations = store.locations()?.to_vec();
    list.into_iter()
        .map(|p| {
            let attendee = match p.author.attendee_id {
                Some(id) => store.attendee(id)?,
                None => None,
            };
            let (author_name, author_organization) = match attendee {
                Some(a) => (a.full_name, a.organization),
                None => (
                    p.author.name.clone().unwrap_or_default(),
                    p.author.organization.clone(),
                ),
            };
            Ok(ProposalRow {
                island_name: locations
                    .iter()
                    .find(|l| l.id == p.island_id)
                    .map(|l| l.name.clone())
                    .unwrap_or_default(),
                author_name,
                author_organization,
                proposal: p,
            })
        })
        .collect()
}

/// What the island's form sends.
#[derive(Debug, Clone, Deserialize)]
pub struct ProposalForm {
    pub island_id: Uuid,
    #[serde(default)]
    pub author: ProposalAuthor,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub consent: bool,
}

/// Take down a proposal: durable when this returns; the draft is gone.
#[tauri::command]
pub async fn add_proposal(desk: State<'_, Desk>, form: ProposalForm) -> CmdResult<ProposalRow> {
    let now = desk.now();
    let row = {
        let mut store = desk.store()?;
        require_proposal_desk(&desk, &store)?;
        let p = store.add_proposal(
            NewProposal {
                island_id: form.island_id,
                author: form.author,
                title: form.title,
                text: form.text,
                topics: form.topics,
                consent: form.consent,
            },
            now,
        )?;
        rows(&store, vec![p])?.remove(0)
    };
    desk.touched(now);
    let _ = std::fs::remove_file(draft_path(&desk));
    Ok(row)
}

/// Edit fields or the status of a proposal.
#[tauri::command]
pub async fn edit_proposal(desk: State<'_, Desk>, id: Uuid, patch: ProposalPatch) -> CmdResult<ProposalRow> {
    let now = desk.now();
    let row = {
        let mut store = desk.store()?;
        require_proposal_desk(&desk, &store)?;
        let p = store.edit_proposal(id, patch, now)?;
        rows(&store, vec![p])?.remove(0)
    };
    desk.touched(now);
    Ok(row)
}

/// What the lists filter by (the coordinator's screen; an island its own).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProposalQuery {
    #[serde(default)]
    pub island_id: Option<Uuid>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub status: Option<ProposalStatus>,
    #[serde(default)]
    pub day: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub query: Option<String>,
    /// At most this many rows (the screen's list); none: all.
    #[serde(default)]
    pub limit: Option<usize>,
}

impl From<ProposalQuery> for ProposalFilter {
    fn from(q: ProposalQuery) -> Self {
        ProposalFilter {
            island_id: q.island_id,
            topic: q.topic.filter(|t| !t.is_empty()),
            status: q.status,
            day: q.day,
            query: q.query.filter(|t| !t.trim().is_empty()),
            limit: q.limit,
        }
    }
}

#[tauri::command]
pub async fn proposals(desk: State<'_, Desk>, filter: ProposalQuery) -> CmdResult<Vec<ProposalRow>> {
    let store = desk.store()?;
    let list = store.proposals(&filter.into())?;
    rows(&store, list)
}

/// An island's topics and how many proposals it took today.
#[derive(Debug, Clone, Serialize)]
pub struct IslandProposalInfo {
    pub topics: Vec<String>,
    pub today: u64,
}

#[tauri::command]
pub async fn island_proposals(desk: State<'_, Desk>, island_id: Uuid) -> CmdResult<IslandProposalInfo> {
    let now = desk.now();
    let store = desk.store()?;
    Ok(IslandProposalInfo {
        topics: store.island_topics(island_id)?,
        today: store.proposals_today(island_id, now)?,
    })
}

/// The coordinator sets an island's topics.
#[tauri::command]
pub async fn set_island_topics(
    desk: State<'_, Desk>,
    island_id: Uuid,
    topics: Vec<String>,
) -> CmdResult<Vec<String>> {
    let now = desk.now();
    let topics = {
        let mut store = desk.store()?;
        crate::commands::require_coordinator(&desk, &store, "setting an island's topics")?;
        store.set_island_topics(island_id, &topics, now)?
    };
    desk.touched(now);
    Ok(topics)
}

fn draft_path(desk: &Desk) -> PathBuf {
    desk.options.data_dir.join("proposal-draft.json")
}

/// Keep the form as typed so far (atomically: a crash leaves the previous
/// draft or this one, never half a file).
#[tauri::command]
pub async fn save_proposal_draft(desk: State<'_, Desk>, draft: serde_json::Value) -> CmdResult<()> {
    let path = draft_path(&desk);
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(&draft).map_err(|e| CmdError::new("invalid", e.to_string()))?;
    if bytes.len() > 64 * 1024 {
        return Err(CmdError::new(
            "too_long",
            "the draft is over 64 KiB: shorten the text",
        ));
    }
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// The draft left by the last session, if any.
#[tauri::command]
pub async fn proposal_draft(desk: State<'_, Desk>) -> CmdResult<Option<serde_json::Value>> {
    Ok(std::fs::read(draft_path(&desk))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

#[tauri::command]
pub async fn discard_proposal_draft(desk: State<'_, Desk>) -> CmdResult<()> {
    match std::fs::remove_file(draft_path(&desk)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Export proposals as CSV or XLSX (coordinators; contacts only with the
/// author's consent).
#[tauri::command]
pub async fn export_proposals(
    desk: State<'_, Desk>,
    format: String,
    lang: String,
    filter: ProposalQuery,
) -> CmdResult<String> {
    let now = desk.now();
    let fmt = ExportFormat::parse(&format)
        .ok_or_else(|| CmdError::new("invalid", format!("format {format:?}: use csv or xlsx")))?;
    let table = {
        let store = desk.store()?;
        crate::commands::require_coordinator(&desk, &store, "exporting proposals")?;
        store.proposals_table(&filter.into(), Lang::parse(&lang).unwrap_or(Lang::Ru))?
    };
    let dir = desk.options.data_dir.join("exports");
    std::fs::create_dir_all(&dir)?;
    let path = crate::export_path(&dir, "proposals", &format.to_ascii_lowercase(), now);
    table.save(&path, fmt)?;
    Ok(path.display().to_string())
}

/// "Proposals of island N" as a print-ready PDF (coordinators): the island
/// the filter names, grouped by topic; declined ones left out.
#[tauri::command]
pub async fn proposals_pdf(desk: State<'_, Desk>, lang: String, filter: ProposalQuery) -> CmdResult<String> {
    let now = desk.now();
    let lang = match Lang::parse(&lang).unwrap_or(Lang::Ru) {
        Lang::Ru => checkin_pdf::ProposalsLang::Ru,
        Lang::En => checkin_pdf::ProposalsLang::En,
    };
    let rendered = {
        let store = desk.store()?;
        crate::commands::require_coordinator(&desk, &store, "printing proposals")?;
        checkin_pdf::render_island_proposals(&store, &filter.into(), lang)?
    };
    let dir = desk.options.data_dir.join("exports");
    std::fs::create_dir_all(&dir)?;
    let path = crate::export_path(&dir, "proposals", "pdf", now);
    std::fs::write(&path, &rendered.pdf)?;
    Ok(path.display().to_string())
}
