//! StartContactStreaming (SPEC §5.5): one more streaming endpoint for a contact, at most two.

use super::{find_contact, internal_c};
use crate::hooks::{streams_key, Live, RECORD};
use crate::streaming::{check_endpoint, Stream, MAX_STREAMS};
use crate::Service;
use confab_ports::{Batch, Check, Committed, RecordWrite, StoreError};
use confab_wire::streaming::{StartContactStreamingInput, StartContactStreamingOutput};
use confab_wire::ConnectError;

/// Concurrent starts on one contact retry their compare-and-set this often.
const ATTEMPTS: usize = 5;

impl Service {
    pub async fn start_contact_streaming(
        &self,
        input: StartContactStreamingInput,
    ) -> Result<StartContactStreamingOutput, ConnectError> {
        let endpoint = input.chat_streaming_configuration.streaming_endpoint_arn;
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Contact '{}' does not exist in this instance",
                input.contact_id
            ))
        })?;
        let key = input
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("StartContactStreaming:{}:{t}", contact.id));
        if let Some(k) = &key {
            if let Some(recorded) = self.store.idempotent(k).await.map_err(internal_c)? {
                return serde_json::from_str(&recorded)
                    .map_err(|e| ConnectError::InternalService(e.to_string()));
            }
        }
        if !contact.is_active() {
            return Err(ended(&contact.id));
        }
        check_endpoint(&self.config.streaming, &endpoint)?;
        for _ in 0..ATTEMPTS {
            let live = Live::read(self.store.as_ref(), &contact.id).await.map_err(internal_c)?;
            // The same endpoint twice would get every item twice: answer with its stream
            // (UNCERTAIN: AWS does not say).
            if let Some(same) = live.streams.iter().find(|s| s.endpoint == endpoint) {
                return Ok(StartContactStreamingOutput { streaming_id: same.id.clone() });
            }
            if live.streams.len() >= MAX_STREAMS {
                return Err(ConnectError::LimitExceeded(format!(
                    "Contact '{}' already streams to {MAX_STREAMS} endpoints; stop one with StopContactStreaming first",
                    contact.id
                )));
            }
            let stream = Stream { id: uuid::Uuid::new_v4().to_string(), endpoint: endpoint.clone() };
            let out = StartContactStreamingOutput { streaming_id: stream.id.clone() };
            let mut streams = live.streams.clone();
            streams.push(stream);
            let mut batch = Batch::new(contact.id.clone());
            batch.checks = vec![
                Check::ContactActive,
                Check::RecordIs {
                    kind: RECORD.into(),
                    key: streams_key(&contact.id),
                    value: live.streams_raw,
                },
            ];
            batch.idempotency = key.clone().map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
            let json = serde_json::to_string(&streams).unwrap_or_default();
            batch.records.push(RecordWrite::set(RECORD, streams_key(&contact.id), json));
            match self.store.commit(batch).await {
                Ok(Committed::Applied { .. }) => return Ok(out),
                Ok(Committed::Replayed { response }) => {
                    return serde_json::from_str(&response)
                        .map_err(|e| ConnectError::InternalService(e.to_string()))
                }
                Err(StoreError::CheckFailed(Check::RecordIs { .. })) => continue,
                Err(StoreError::CheckFailed(_)) => return Err(ended(&contact.id)),
                Err(e) => return Err(internal_c(e)),
            }
        }
        Err(ConnectError::InternalService(
            "The contact's streaming endpoints kept changing; try again".into(),
        ))
    }
}

fn ended(contact_id: &str) -> ConnectError {
    ConnectError::InvalidRequest(format!(
        "Contact '{contact_id}' has ended; streaming can no longer be started"
    ))
}
