//! `checkin proposal …`: participants' proposals taken at the islands —
//! add, list (filters and search), edit (fields and status), the island's
//! topics, and the export (CSV or XLSX; contacts only with consent).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use checkin_core::model::{Proposal, ProposalAuthor, ProposalPatch, ProposalStatus};
use checkin_core::store::Store;
use checkin_core::store::proposals::{NewProposal, ProposalFilter};
use checkin_tables::export::{ExportFormat, Lang, TableWriter};

use crate::out::print;

#[derive(Subcommand)]
pub(crate) enum ProposalCmd {
    /// Take down a proposal at an island.
    Add {
        /// The island (its name or id).
        #[arg(long)]
        island: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "")]
        text: String,
        /// The author, an attendee: id, ticket code or e-mail.
        #[arg(long, conflicts_with = "name")]
        author: Option<String>,
        /// Or a person without a badge: their name …
        #[arg(long)]
        name: Option<String>,
        /// … organization …
        #[arg(long, requires = "name")]
        organization: Option<String>,
        /// … and an e-mail or phone.
        #[arg(long, requires = "name")]
        contact: Option<String>,
        /// One of the island's topics (repeat for several).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// The author agreed to be contacted.
        #[arg(long)]
        consent: bool,
    },
    /// List proposals, newest first (filters combine).
    List {
        #[arg(long)]
        island: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        /// new, shortlisted, presented or declined.
        #[arg(long)]
        status: Option<String>,
        /// An event day (YYYY-MM-DD).
        #[arg(long)]
        day: Option<NaiveDate>,
        /// Words of the title or text, or the author's name (any script).
        #[arg(long)]
        query: Option<String>,
    },
    /// Edit a proposal: only the fields given change.
    Edit {
        id: Uuid,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        text: Option<String>,
        /// The topics (replaces them; repeat for several).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Remove every topic.
        #[arg(long, conflicts_with = "topics")]
        no_topics: bool,
        /// yes or no.
        #[arg(long)]
        consent: Option<String>,
        /// new, shortlisted, presented or declined (declined is how a
        /// proposal is withdrawn; nothing is deleted).
        #[arg(long)]
        status: Option<String>,
    },
    /// Show an island's topics, or set them (coordinators).
    Topics {
        /// The island (its name or id).
        island: String,
        /// The topics to set; none: show them.
        topics: Vec<String>,
    },
    /// Export proposals as CSV, XLSX or (one island, by topic, for the
    /// presentation) PDF, by the file's extension; contacts only where the
    /// author agreed.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        island: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// ru (default) or en.
        #[arg(long, default_value = "ru")]
        lang: String,
    },
}

fn island(store: &Store, key: &str) -> Result<Uuid> {
    Ok(store.location(key)?.id)
}

fn status(s: &str) -> Result<ProposalStatus> {
    ProposalStatus::parse(s)
        .ok_or_else(|| anyhow!("status {s:?}: use new, shortlisted, presented or declined"))
}

fn line(store: &Store, p: &Proposal) -> String {
    let author = match p.author.attendee_id {
        Some(id) => store
            .attendee(id)
            .ok()
            .flatten()
            .map(|a| a.full_name)
            .unwrap_or_else(|| id.to_string()),
        None => p.author.name.clone().unwrap_or_default(),
    };
    let topics = if p.topics.is_empty() {
        String::new()
    } else {
        format!(" [{}]", p.topics.join(", "))
    };
    format!("{}\t{}\t{}\t{}{topics}", p.id, p.status.as_str(), author, p.title)
}

pub(crate) fn proposal(store: &mut Store, cmd: &ProposalCmd, j: bool, now: DateTime<Utc>) -> Result<()> {
    match cmd {
        ProposalCmd::Add {
            island: key,
            title,
            text,
            author,
            name,
            organization,
            contact,
            topics,
            consent,
        } => {
            let island_id = island(store, key)?;
            let author = match author {
                Some(k) => ProposalAuthor {
                    attendee_id: Some(store.find_attendee(k)?.id),
                    ..ProposalAuthor::default()
                },
                None => ProposalAuthor {
                    attendee_id: None,
                    name: name.clone(),
                    organization: organization.clone(),
                    contact: contact.clone(),
                },
            };
            let p = store.add_proposal(
                NewProposal {
                    island_id,
                    author,
                    title: title.clone(),
                    text: text.clone(),
                    topics: topics.clone(),
                    consent: *consent,
                },
                now,
            )?;
            print(j, json!(p), || format!("added {}", line(store, &p)));
        }
        ProposalCmd::List {
            island: key,
            topic,
            status: st,
            day,
            query,
        } => {
            let filter = ProposalFilter {
                island_id: key.as_deref().map(|k| island(store, k)).transpose()?,
                topic: topic.clone(),
                status: st.as_deref().map(status).transpose()?,
                day: *day,
                query: query.clone(),
                limit: None,
            };
            let list = store.proposals(&filter)?;
            print(j, json!(list), || {
                list.iter().map(|p| line(store, p)).collect::<Vec<_>>().join("\n")
            });
        }
        ProposalCmd::Edit {
            id,
            title,
            text,
            topics,
            no_topics,
            consent,
            status: st,
        } => {
            let consent = match consent.as_deref().map(str::to_lowercase).as_deref() {
                None => None,
                Some("yes" | "да" | "true" | "1") => Some(true),
                Some("no" | "нет" | "false" | "0") => Some(false),
                Some(other) => return Err(anyhow!("--consent {other:?}: use yes or no")),
            };
            let patch = ProposalPatch {
                author: None,
                title: title.clone(),
                text: text.clone(),
                topics: if *no_topics {
                    Some(Vec::new())
                } else if topics.is_empty() {
                    None
                } else {
                    Some(topics.clone())
                },
                consent,
                status: st.as_deref().map(status).transpose()?,
            };
            if patch.is_empty() {
                return Err(anyhow!(
                    "nothing to change: give --title, --text, --topic, --no-topics, --consent or --status"
                ));
            }
            let p = store.edit_proposal(*id, patch, now)?;
            print(j, json!(p), || format!("edited {}", line(store, &p)));
        }
        ProposalCmd::Topics { island: key, topics } => {
            let island_id = island(store, key)?;
            let list = if topics.is_empty() {
                store.island_topics(island_id)?
            } else {
                store.set_island_topics(island_id, topics, now)?
            };
            print(j, json!(list), || list.join("\n"));
        }
        ProposalCmd::Export {
            out,
            island: key,
            status: st,
            lang,
        } => {
            let lang = Lang::parse(lang).ok_or_else(|| anyhow!("--lang {lang:?}: use ru or en"))?;
            let filter = ProposalFilter {
                island_id: key.as_deref().map(|k| island(store, k)).transpose()?,
                status: st.as_deref().map(status).transpose()?,
                ..ProposalFilter::default()
            };
            let ext = out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if ext == "pdf" {
                if filter.island_id.is_none() {
                    return Err(anyhow!("the PDF is per island: add --island NAME"));
                }
                let pdf = checkin_pdf::render_island_proposals(
                    store,
                    &filter,
                    match lang {
                        Lang::Ru => checkin_pdf::ProposalsLang::Ru,
                        Lang::En => checkin_pdf::ProposalsLang::En,
                    },
                )?;
                std::fs::write(out, &pdf.pdf).with_context(|| format!("writing {}", out.display()))?;
                print(
                    j,
                    json!({"out": out, "proposals": pdf.badges, "pages": pdf.pages}),
                    || {
                        format!(
                            "wrote {} ({} proposals, {} pages)",
                            out.display(),
                            pdf.badges,
                            pdf.pages
                        )
                    },
                );
                return Ok(());
            }
            let format = ExportFormat::parse(&ext)
                .ok_or_else(|| anyhow!("{}: name the file .csv, .xlsx or .pdf", out.display()))?;
            let table = store.proposals_table(&filter, lang)?;
            table
                .save(out, format)
                .with_context(|| format!("writing {}", out.display()))?;
            print(j, json!({"out": out, "proposals": table.rows.len()}), || {
                format!("wrote {} ({} proposals)", out.display(), table.rows.len())
            });
        }
    }
    Ok(())
}
