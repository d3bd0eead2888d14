//! The journal as the administrators' viewer asks for it.

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::Journal;
use crate::error::{Error, Result};
use crate::store::journal::JournalQuery;

#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct JournalFilter {
    /// RFC 3339 instants; `to` is exclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub kind: Option<String>,
    /// Continue below this sequence number (the previous page's `nextBeforeSeq`).
    pub before_seq: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct JournalRecordView {
    pub seq: i64,
    pub recorded_at: String,
    pub actor: String,
    pub actor_role: Option<String>,
    pub kind: String,
    pub subject: String,
    pub outcome: String,
    /// JSON text.
    pub detail: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct JournalPage {
    pub records: Vec<JournalRecordView>,
    /// Records matching the filter, on all pages.
    pub total: i64,
    pub next_before_seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct JournalFilterChoices {
    pub kinds: Vec<String>,
    pub actors: Vec<String>,
}

fn instant(field: &str, v: &Option<String>) -> Result<Option<i64>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s).map(|t| Some(t.timestamp_millis())).map_err(|_| {
            Error::invalid(
                format!("{field} 时间格式无效：“{s}”。请用日期时间选择器选择。"),
                format!("{field}: \"{s}\" is not a valid time. Pick it with the date-time picker."),
            )
        }),
    }
}

impl Journal {
    pub async fn page(&self, f: &JournalFilter) -> Result<JournalPage> {
        let q = JournalQuery {
            from_ms: instant("from", &f.from)?,
            to_ms: instant("to", &f.to)?,
            actor: f.actor.clone().filter(|s| !s.is_empty()),
            kind: f.kind.clone().filter(|s| !s.is_empty()),
            before_seq: f.before_seq,
            limit: f.limit.unwrap_or(50).clamp(1, 500) as i64,
        };
        if let (Some(a), Some(b)) = (q.from_ms, q.to_ms)
            && a >= b
        {
            return Err(Error::invalid("开始时间须早于结束时间。", "The start must be before the end."));
        }
        let (rows, total) = self.query(&q).await?;
        let next_before_seq = (rows.len() as i64 == q.limit).then(|| rows.last().map(|r| r.seq)).flatten();
        let records = rows
            .into_iter()
            .map(|r| JournalRecordView {
                seq: r.seq,
                recorded_at: r.recorded_at,
                actor: r.actor,
                actor_role: r.actor_role,
                kind: r.kind,
                subject: r.subject,
                outcome: r.outcome,
                detail: r.detail,
                hash: r.hash,
            })
            .collect();
        Ok(JournalPage { records, total, next_before_seq })
    }

    pub async fn filter_choices(&self) -> Result<JournalFilterChoices> {
        let (kinds, actors) = self.kinds_and_actors().await?;
        Ok(JournalFilterChoices { kinds, actors })
    }
}
