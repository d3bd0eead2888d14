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
        Error::internal(format!("outbox row {} holds a payload that is not JSON: {e}", p.outbox_seq))
    })?;
    let r = p.record;
    Ok((
        p.outbox_seq,
        WireEvent {
            event_id: p.event_id,
            seq: p.outbox_seq,
            event_type: p.event_type,
            occurred_at: p.occurred_at,
            prev_hash: r.prev_hash,
            hash: r.hash,
            record: JournalRecord {
                seq: r.seq,
                recorded_at: r.recorded_at,
                recorded_at_ms: r.recorded_at_ms,
                actor: r.actor,
                actor_role: r.actor_role,
                kind: r.kind,
                subject: r.subject,
                outcome: r.outcome,
                detail: r.detail,
            },
            payload,
        },
    ))
}
