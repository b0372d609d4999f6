//! The view registry behind CreateView, CreateViewVersion and DescribeView. A view is a
//! record (kind `view`, key: its Id) holding its `$SAVED` and `$LATEST` content; each
//! numbered version is an immutable record of its own (kind `view-version`); a third kind,
//! `view-name` (key `<instance>/<name>`), keeps names unique per instance through the
//! store's compare-and-set.

use crate::flow_blocks::ViewSetting;
use crate::Service;
use confab_ports::{Batch, Millis, RecordWrite, StoreError};
use confab_wire::views::{ControlView, ViewContent};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

pub(crate) const KIND_VIEW: &str = "view";
pub(crate) const KIND_VERSION: &str = "view-version";
pub(crate) const KIND_NAME: &str = "view-name";

pub(crate) const PUBLISHED: &str = "PUBLISHED";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ViewRecord {
    pub id: String,
    pub arn: String,
    pub instance_id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub tags: Option<Map<String, Value>>,
    pub created_at: Millis,
    pub modified_at: Millis,
    /// `$SAVED`: the content last given.
    pub saved: ViewContent,
    /// `$LATEST`: the content last published.
    pub latest: Option<ViewContent>,
    /// The highest numbered version (0: none).
    pub versions: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub content: ViewContent,
    pub description: Option<String>,
    pub created_at: Millis,
}

/// Which content of a view a token or request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qualifier {
    Latest,
    Saved,
    Version(i64),
}

pub(crate) fn version_key(id: &str, n: i64) -> String {
    format!("{id}:{n:010}")
}

pub(crate) fn name_key(instance_id: &str, name: &str) -> String {
    format!("{instance_id}/{name}")
}

/// Splits `<id or arn>[:$LATEST|:$SAVED|:N]`. Ids may hold `:` themselves, so only a
/// suffix that is one of those qualifiers counts as one.
pub(crate) fn parse_view_token(token: &str) -> (&str, Qualifier) {
    if let Some((head, tail)) = token.rsplit_once(':') {
        let qualifier = match tail {
            "$LATEST" => Some(Qualifier::Latest),
            "$SAVED" => Some(Qualifier::Saved),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().ok().map(Qualifier::Version)
            }
            _ => None,
        };
        if let Some(q) = qualifier {
            if !head.is_empty() {
                return (head, q);
            }
        }
    }
    (token, Qualifier::Latest)
}

/// The Id inside a view ARN (`…:instance/<instance>/view/<id>`), or the token itself.
pub(crate) fn id_of(view: &str) -> &str {
    match view.strip_prefix("arn:").and_then(|_| view.split_once("/view/")) {
        Some((_, id)) => id,
        None => view,
    }
}

/// The input schema AWS derives from a template (UNCERTAIN: AWS does not document the
/// derivation). confab lists, as properties of an object, the top-level names of every
/// `$.Name…` reference in the template, which is how templates bind their input data.
pub(crate) fn derive_input_schema(template: &Value) -> String {
    let mut names = BTreeSet::new();
    collect_refs(template, &mut names);
    let properties: Map<String, Value> = names.into_iter().map(|n| (n, Value::Object(Map::new()))).collect();
    serde_json::json!({"type": "object", "properties": properties}).to_string()
}

fn collect_refs(value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(path) = s.strip_prefix("$.") {
                let name: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, names)),
        Value::Object(map) => map.values().for_each(|v| collect_refs(v, names)),
        _ => {}
    }
}

/// Content from a template text (which must be JSON) and actions.
pub(crate) fn content_of(
    template: &str,
    actions: Vec<String>,
    schema: Option<String>,
) -> Result<ViewContent, String> {
    let parsed: Value =
        serde_json::from_str(template).map_err(|e| format!("The view template is not valid JSON: {e}"))?;
    let input_schema = schema.unwrap_or_else(|| derive_input_schema(&parsed));
    Ok(ViewContent { input_schema, template: template.to_owned(), actions })
}

pub(crate) fn content_sha256(content: &ViewContent) -> String {
    let mut hash = Sha256::new();
    hash.update(content.template.as_bytes());
    for action in &content.actions {
        hash.update([0]);
        hash.update(action.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn epoch_secs(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

impl ViewRecord {
    /// The control plane's View for `$LATEST` (or `$SAVED` when never published), or for a
    /// numbered version.
    pub(crate) fn control_view(&self, version: Option<(i64, &VersionRecord)>) -> ControlView {
        let (content, number, version_description) = match version {
            Some((n, v)) => (v.content.clone(), Some(n), v.description.clone()),
            None => (self.latest.clone().unwrap_or_else(|| self.saved.clone()), None, None),
        };
        ControlView {
            id: self.id.clone(),
            arn: self.arn.clone(),
            name: self.name.clone(),
            status: self.status.clone(),
            kind: "CUSTOMER_MANAGED".into(),
            description: self.description.clone(),
            version: number,
            version_description,
            view_content_sha256: content_sha256(&content),
            content,
            tags: self.tags.clone(),
            created_time: epoch_secs(self.created_at),
            last_modified_time: epoch_secs(self.modified_at),
        }
    }
}

impl Service {
    pub(crate) fn view_arn(&self, instance_id: &str, id: &str) -> String {
        format!(
            "arn:aws:connect:{}:{}:instance/{instance_id}/view/{id}",
            self.config.region, self.config.account_id
        )
    }

    /// A view and its stored text (for compare-and-set).
    pub(crate) async fn view_record(&self, id: &str) -> Result<Option<(ViewRecord, String)>, StoreError> {
        let Some(raw) = self.store.record(KIND_VIEW, id).await? else {
            return Ok(None);
        };
        let view =
            serde_json::from_str(&raw).map_err(|e| StoreError::Backend(format!("view record: {e}")))?;
        Ok(Some((view, raw)))
    }

    pub(crate) async fn view_version(&self, id: &str, n: i64) -> Result<Option<VersionRecord>, StoreError> {
        let Some(raw) = self.store.record(KIND_VERSION, &version_key(id, n)).await? else {
            return Ok(None);
        };
        serde_json::from_str(&raw).map(Some).map_err(|e| StoreError::Backend(format!("view version: {e}")))
    }

    /// Registers the views of the settings (`[[service.flow_blocks.views]]`), published.
    /// A view already known is updated in place; when its content changed it gets a new
    /// numbered version, so version numbers stay immutable across restarts.
    pub async fn load_views(&self) -> Result<(), String> {
        for setting in &self.config.flow_blocks.views {
            self.load_view(setting).await.map_err(|e| format!("view '{}': {e}", setting.id))?;
        }
        Ok(())
    }

    async fn load_view(&self, s: &ViewSetting) -> Result<(), String> {
        let valid_id = |c: char| c.is_ascii_alphanumeric() || "_-:/$".contains(c);
        if s.id.is_empty() || s.id.len() > 500 || !s.id.chars().all(valid_id) || s.id.contains("/view/") {
            return Err("id must be 1-500 characters of letters, digits and _-:/$".into());
        }
        let content = content_of(&s.template, s.actions.clone(), s.input_schema.clone())?;
        let store_err = |e: StoreError| e.to_string();
        let known = self.view_record(&s.id).await.map_err(store_err)?.map(|(v, _)| v);
        let owner =
            self.store.record(KIND_NAME, &name_key(&s.instance_id, &s.name)).await.map_err(store_err)?;
        if owner.as_deref().is_some_and(|o| o != s.id) {
            return Err(format!("another view of instance {} is named '{}'", s.instance_id, s.name));
        }
        let now = self.clock.now();
        let mut batch = Batch::new(String::new());
        let mut view = match known {
            Some(v) => {
                if v.instance_id != s.instance_id || v.name != s.name {
                    batch.records.push(RecordWrite::delete(KIND_NAME, name_key(&v.instance_id, &v.name)));
                }
                v
            }
            None => ViewRecord {
                id: s.id.clone(),
                arn: self.view_arn(&s.instance_id, &s.id),
                instance_id: s.instance_id.clone(),
                name: s.name.clone(),
                description: None,
                status: PUBLISHED.into(),
                tags: None,
                created_at: now,
                modified_at: now,
                saved: content.clone(),
                latest: None,
                versions: 0,
            },
        };
        let last = match view.versions {
            0 => None,
            n => self.view_version(&s.id, n).await.map_err(store_err)?,
        };
        if last.as_ref().is_none_or(|v| v.content != content) {
            view.versions += 1;
            let version = VersionRecord { content: content.clone(), description: None, created_at: now };
            let text = serde_json::to_string(&version).map_err(|e| e.to_string())?;
            batch.records.push(RecordWrite::set(KIND_VERSION, version_key(&s.id, view.versions), text));
        }
        if view.latest.as_ref() != Some(&content) || view.description != s.description || view.name != s.name
        {
            view.modified_at = now;
        }
        view.arn = self.view_arn(&s.instance_id, &s.id);
        view.instance_id = s.instance_id.clone();
        view.name = s.name.clone();
        view.description = s.description.clone();
        view.status = PUBLISHED.into();
        view.saved = content.clone();
        view.latest = Some(content);
        let text = serde_json::to_string(&view).map_err(|e| e.to_string())?;
        batch.records.push(RecordWrite::set(KIND_VIEW, s.id.clone(), text));
        batch.records.push(RecordWrite::set(KIND_NAME, name_key(&s.instance_id, &s.name), s.id.clone()));
        self.store.commit(batch).await.map_err(store_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_view_and_qualifier() {
        assert_eq!(parse_view_token("abc"), ("abc", Qualifier::Latest));
        assert_eq!(parse_view_token("abc:$LATEST"), ("abc", Qualifier::Latest));
        assert_eq!(parse_view_token("abc:$SAVED"), ("abc", Qualifier::Saved));
        assert_eq!(parse_view_token("abc:7"), ("abc", Qualifier::Version(7)));
        assert_eq!(parse_view_token("a:b"), ("a:b", Qualifier::Latest));
        let arn = "arn:aws:connect:us-east-1:123456789012:instance/i-1/view/v-1";
        assert_eq!(parse_view_token(&format!("{arn}:2")), (arn, Qualifier::Version(2)));
        assert_eq!(parse_view_token(arn), (arn, Qualifier::Latest));
        assert_eq!(id_of(arn), "v-1");
        assert_eq!(id_of("v-1"), "v-1");
    }

    #[test]
    fn the_input_schema_lists_template_references() {
        let template = serde_json::json!({"Body": [{"Props": {"Heading": "$.Heading", "Items": "$.Items[0].Name"}}, "$.", "plain"]});
        let schema: Value = serde_json::from_str(&derive_input_schema(&template)).unwrap_or_default();
        assert_eq!(schema["type"], "object");
        let names: Vec<&String> =
            schema["properties"].as_object().map(|p| p.keys().collect()).unwrap_or_default();
        assert_eq!(names, ["Heading", "Items"]);
    }
}
