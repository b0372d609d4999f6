//! CreateViewVersion (`PUT /views/{InstanceId}/{ViewId}/versions`): publishes `$LATEST` as
//! the next immutable numbered version, or answers the highest version when `$LATEST` has
//! not changed since (as AWS documents).

use super::internal_c;
use crate::views::{content_sha256, version_key, VersionRecord, KIND_VERSION, KIND_VIEW};
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, StoreError};
use confab_wire::views::{CreateViewOutput, CreateViewVersionInput};
use confab_wire::ConnectError;

/// Concurrent publications race on the view record; the loser tries again.
const ATTEMPTS: usize = 3;

impl Service {
    pub async fn create_view_version(
        &self,
        input: CreateViewVersionInput,
    ) -> Result<CreateViewOutput, ConnectError> {
        for _ in 0..ATTEMPTS {
            if let Some(out) = self.try_create_view_version(&input).await? {
                return Ok(out);
            }
        }
        Err(ConnectError::InternalService("The view changed while publishing; try again".into()))
    }

    /// None when another writer changed the view meanwhile.
    async fn try_create_view_version(
        &self,
        input: &CreateViewVersionInput,
    ) -> Result<Option<CreateViewOutput>, ConnectError> {
        let view_id = crate::views::id_of(&input.view_id);
        let found = self.view_record(view_id).await.map_err(internal_c)?;
        let Some((mut view, raw)) = found.filter(|(v, _)| v.instance_id == input.instance_id) else {
            return Err(ConnectError::ResourceNotFound(format!(
                "View '{}' does not exist in instance {}",
                input.view_id, input.instance_id
            )));
        };
        let Some(latest) = view.latest.clone() else {
            return Err(ConnectError::InvalidRequest(format!(
                "View '{}' has no published content ($LATEST): create it with Status PUBLISHED",
                view.id
            )));
        };
        if let Some(sha) = input.view_content_sha256.as_deref() {
            if sha != content_sha256(&latest) {
                return Err(ConnectError::InvalidRequest(
                    "ViewContentSha256 does not match the content of $LATEST".into(),
                ));
            }
        }
        if view.versions > 0 {
            let highest = self.view_version(&view.id, view.versions).await.map_err(internal_c)?;
            if let Some(v) = highest.filter(|v| v.content == latest) {
                return Ok(Some(CreateViewOutput { view: view.control_view(Some((view.versions, &v))) }));
            }
        }
        let now = self.clock.now();
        view.versions += 1;
        let version = VersionRecord {
            content: latest,
            description: input.version_description.clone(),
            created_at: now,
        };
        let mut batch = Batch::new(String::new());
        batch.checks.push(Check::RecordIs { kind: KIND_VIEW.into(), key: view.id.clone(), value: Some(raw) });
        let version_text = serde_json::to_string(&version).unwrap_or_default();
        batch.records.push(RecordWrite::set(
            KIND_VERSION,
            version_key(&view.id, view.versions),
            version_text,
        ));
        batch.records.push(RecordWrite::set(
            KIND_VIEW,
            view.id.clone(),
            serde_json::to_string(&view).unwrap_or_default(),
        ));
        match self.store.commit(batch).await {
            Ok(_) => Ok(Some(CreateViewOutput { view: view.control_view(Some((view.versions, &version))) })),
            Err(StoreError::CheckFailed(_)) => Ok(None),
            Err(e) => Err(internal_c(e)),
        }
    }
}
