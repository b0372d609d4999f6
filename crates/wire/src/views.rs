//! Views (the Show view flow block): CreateView and CreateViewVersion of the control plane
//! (`connect` 2017-08-08) and DescribeView of the participant API. The two APIs describe a
//! view with different members, so each has its own output struct.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `PUT /views/{InstanceId}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateViewInput {
    pub instance_id: String,
    pub client_token: Option<String>,
    pub status: String,
    pub content: ViewInputContent,
    pub description: Option<String>,
    pub name: String,
    pub tags: Option<Map<String, Value>>,
}

/// What a caller gives: the input schema is derived from the template.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ViewInputContent {
    pub template: Option<String>,
    pub actions: Option<Vec<String>>,
}

/// `PUT /views/{InstanceId}/{ViewId}/versions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateViewVersionInput {
    pub instance_id: String,
    pub view_id: String,
    pub version_description: Option<String>,
    pub view_content_sha256: Option<String>,
}

/// CreateView and CreateViewVersion answer `{"View": {...}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateViewOutput {
    pub view: ControlView,
}

/// The control plane's View. Times are epoch seconds (restJson1 timestamps).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ControlView {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub status: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_description: Option<String>,
    pub content: ViewContent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Map<String, Value>>,
    pub created_time: f64,
    pub last_modified_time: f64,
    pub view_content_sha256: String,
}

/// A view's content as both APIs return it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ViewContent {
    pub input_schema: String,
    pub template: String,
    pub actions: Vec<String>,
}

/// DescribeView (participant API) answers `{"View": {...}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeViewOutput {
    pub view: View,
}

/// The participant API's View.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct View {
    pub id: String,
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    pub content: ViewContent,
}
