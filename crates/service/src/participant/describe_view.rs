//! DescribeView (`GET /participant/views/{ViewToken}`, SPEC §2.9). AWS's ViewToken is an
//! opaque token from a Show view block's interactive message; confab has no flows, so the
//! token is the view's Id or ARN, optionally qualified: `:$LATEST` (the default), `:$SAVED`
//! or a version number `:N`. Only views of the chat's own instance are visible.

use crate::lifecycle::internal_p;
use crate::tokens::TokenKind;
use crate::views::{id_of, parse_view_token, Qualifier};
use crate::Service;
use confab_wire::views::{DescribeViewOutput, View, ViewContent};
use confab_wire::ParticipantError;

/// ResourceType of the 404. UNCERTAIN: the model's enum has no VIEW; a view belongs to the
/// flow's Show view block, so CONTACT_FLOW is the closest value.
pub(crate) const VIEW_RESOURCE_TYPE: &str = "CONTACT_FLOW";

impl Service {
    pub async fn describe_view(
        &self,
        connection_token: Option<&str>,
        view_token: &str,
    ) -> Result<DescribeViewOutput, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        let not_found = || ParticipantError::ResourceNotFound {
            message: format!("View '{view_token}' does not exist"),
            resource_id: view_token.to_owned(),
            resource_type: VIEW_RESOURCE_TYPE.to_owned(),
        };
        let (name, qualifier) = parse_view_token(view_token);
        let found = self.view_record(id_of(name)).await.map_err(internal_p)?.map(|(v, _)| v);
        let view = found
            .filter(|v| v.instance_id == session.contact.instance_id)
            .filter(|v| !name.starts_with("arn:") || v.arn == name)
            .ok_or_else(not_found)?;
        let (content, version): (Option<ViewContent>, Option<i64>) = match qualifier {
            Qualifier::Latest => (view.latest.clone(), None),
            Qualifier::Saved => (Some(view.saved.clone()), None),
            Qualifier::Version(n) if n >= 1 && n <= view.versions => {
                let v = self.view_version(&view.id, n).await.map_err(internal_p)?;
                (v.map(|v| v.content), Some(n))
            }
            Qualifier::Version(_) => (None, None),
        };
        // UNCERTAIN: AWS does not say which Version `$LATEST` reports; confab gives a
        // number only for a numbered version, since `$LATEST` may differ from all of them.
        let content = content.ok_or_else(not_found)?;
        Ok(DescribeViewOutput {
            view: View { id: view.id, arn: view.arn, name: view.name, version, content },
        })
    }
}
