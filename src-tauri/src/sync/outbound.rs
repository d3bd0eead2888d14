//! The outbox as it goes on the wire.

use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::sync::{self as rows, PendingEvent};
use crate::sync::wire::{JournalRecord, WireEvent};

/// The oldest `limit` pending events as they would be sent, in sequence order.
pub async fn pending_wire_events(store: &Store, limit: i64) -> Result<Vec<WireEvent>> {
    rows::pending(store.pool(), limit).await?.into_iter().map(|p| to_wire(p).map(|(_, e)| e)).collect()
}

/// One pending row as an event, with its outbox sequence number.
pub fn to_wire(p: PendingEvent) -> Result<(i64, WireEvent)> {
    let payload: serde_json::Value = serde_json::from_str(&p.payload).map_err(|e| {
        Error::internal(format!("outbox row {} holds a payload that is not JSON: {e}", p.seq))
    })?;
    Ok((
        p.seq,
        WireEvent {
            event_id: p.event_id,
            seq: p.seq,
            event_type: p.event_type,
            occurred_at: p.occurred_at,
            prev_hash: p.prev_hash,
            hash: p.hash,
            record: JournalRecord {
                seq: p.journal_seq,
                recorded_at: p.recorded_at,
                recorded_at_ms: p.recorded_at_ms,
                actor: p.actor,
                actor_role: p.actor_role,
                kind: p.kind,
                subject: p.subject,
                outcome: p.outcome,
                detail: p.detail,
            },
            payload,
        },
    ))
}
