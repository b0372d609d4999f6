//! CreateView (`PUT /views/{InstanceId}`, SPEC §2.9): registers a view. PUBLISHED sets both
//! `$SAVED` and `$LATEST`, SAVED only `$SAVED` (as AWS documents); names are unique per
//! instance; a repeated ClientToken answers with the first view.

use super::internal_c;
use crate::views::{content_of, name_key, ViewRecord, KIND_NAME, KIND_VIEW, PUBLISHED};
use crate::Service;
use confab_ports::{Batch, Check, Committed, RecordWrite, StoreError};
use confab_wire::views::{CreateViewInput, CreateViewOutput};
use confab_wire::ConnectError;

impl Service {
    pub async fn create_view(&self, input: CreateViewInput) -> Result<CreateViewOutput, ConnectError> {
        let key = input
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("CreateView:{}:{t}", input.instance_id));
        if let Some(k) = &key {
            if let Some(recorded) = self.store.idempotent(k).await.map_err(internal_c)? {
                return serde_json::from_str(&recorded)
                    .map_err(|e| ConnectError::InternalService(e.to_string()));
            }
        }
        let template = input.content.template.as_deref().ok_or_else(|| {
            ConnectError::InvalidParameter(
                "Content.Template is required: the view template, JSON text".into(),
            )
        })?;
        let content = content_of(template, input.content.actions.clone().unwrap_or_default(), None)
            .map_err(ConnectError::InvalidParameter)?;
        let now = self.clock.now();
        let id = uuid::Uuid::new_v4().to_string();
        let view = ViewRecord {
            arn: self.view_arn(&input.instance_id, &id),
            id: id.clone(),
            instance_id: input.instance_id.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            status: input.status.clone(),
            tags: input.tags.clone(),
            created_at: now,
            modified_at: now,
            latest: (input.status == PUBLISHED).then(|| content.clone()),
            saved: content,
            versions: 0,
        };
        let out = CreateViewOutput { view: view.control_view(None) };
        let names = name_key(&input.instance_id, &input.name);
        let mut batch = Batch::new(String::new());
        batch.checks.push(Check::RecordIs { kind: KIND_NAME.into(), key: names.clone(), value: None });
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
        batch.records.push(RecordWrite::set(
            KIND_VIEW,
            id.clone(),
            serde_json::to_string(&view).unwrap_or_default(),
        ));
        batch.records.push(RecordWrite::set(KIND_NAME, names, id));
        match self.store.commit(batch).await {
            Ok(Committed::Applied { .. }) => Ok(out),
            Ok(Committed::Replayed { response }) => {
                serde_json::from_str(&response).map_err(|e| ConnectError::InternalService(e.to_string()))
            }
            Err(StoreError::CheckFailed(_)) => Err(ConnectError::DuplicateResource(format!(
                "A view named '{}' already exists in instance {}",
                input.name, input.instance_id
            ))),
            Err(e) => Err(internal_c(e)),
        }
    }
}
