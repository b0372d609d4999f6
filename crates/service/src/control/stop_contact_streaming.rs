//! StopContactStreaming (SPEC §5.5): no item committed after this is sent to that endpoint.
//! Deliveries already queued still go out, so a sink gets every item of the time it was on.

use super::{find_contact, internal_c};
use crate::hooks::{streams_key, Live, RECORD};
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, StoreError};
use confab_wire::participant::Empty;
use confab_wire::streaming::StopContactStreamingInput;
use confab_wire::ConnectError;

const ATTEMPTS: usize = 5;

impl Service {
    /// Stopping works on an ended contact too (streaming already stopped with it), so
    /// clean-up code need not know whether the chat is over.
    pub async fn stop_contact_streaming(
        &self,
        input: StopContactStreamingInput,
    ) -> Result<Empty, ConnectError> {
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Contact '{}' does not exist in this instance",
                input.contact_id
            ))
        })?;
        for _ in 0..ATTEMPTS {
            let live = Live::read(self.store.as_ref(), &contact.id).await.map_err(internal_c)?;
            if !live.streams.iter().any(|s| s.id == input.streaming_id) {
                return Err(ConnectError::ResourceNotFound(format!(
                    "StreamingId '{}' is not streaming contact '{}'",
                    input.streaming_id, contact.id
                )));
            }
            let rest: Vec<_> = live.streams.iter().filter(|s| s.id != input.streaming_id).cloned().collect();
            let mut batch = Batch::new(contact.id.clone());
            let key = streams_key(&contact.id);
            batch.checks =
                vec![Check::RecordIs { kind: RECORD.into(), key: key.clone(), value: live.streams_raw }];
            batch.records.push(if rest.is_empty() {
                RecordWrite::delete(RECORD, key)
            } else {
                RecordWrite::set(RECORD, key, serde_json::to_string(&rest).unwrap_or_default())
            });
            match self.store.commit(batch).await {
                Ok(_) => return Ok(Empty {}),
                Err(StoreError::CheckFailed(_)) => continue,
                Err(e) => return Err(internal_c(e)),
            }
        }
        Err(ConnectError::InternalService(
            "The contact's streaming endpoints kept changing; try again".into(),
        ))
    }
}
