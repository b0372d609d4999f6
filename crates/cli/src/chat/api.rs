//! The calls the chat makes, through the same model-driven requests as the CLI commands.

use crate::config::Settings;
use crate::errors::CliError;
use crate::http::{self, Client};
use crate::model::{self, Model};
use serde_json::{json, Map, Value};

pub struct Api {
    client: Client,
    /// For wss:// sockets: the trust the HTTP calls use.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
    participant: &'static Model,
    connect: &'static Model,
}

impl Api {
    pub fn new(settings: Settings) -> Result<Api, CliError> {
        let tls = http::tls::client_config(settings.ca_bundle.as_deref(), settings.verify_ssl)
            .map_err(CliError::Plain)?;
        // One attempt a call: the chat loop decides when to try again.
        let client = Client::new(settings, true, false, 1)?;
        let participant = model::service("connectparticipant")
            .ok_or_else(|| CliError::Plain("no participant model".into()))?;
        let connect = model::service("connect").ok_or_else(|| CliError::Plain("no connect model".into()))?;
        Ok(Api { client, tls: Some(tls), participant, connect })
    }

    async fn call(&self, model: &Model, op_name: &str, params: Value) -> Result<Value, CliError> {
        let op =
            model.operation(op_name).ok_or_else(|| CliError::Plain(format!("no operation {op_name}")))?;
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        let request = http::request::build(model, op, &params);
        let response = self.client.call(model, op, &request).await?;
        if response.status >= 300 {
            return Err(http::service_error(op, &response, None));
        }
        Ok(http::response::parse(model, op, &response, false))
    }

    pub async fn start_chat(&self, instance: &str, flow: &str, name: &str) -> Result<Value, CliError> {
        let params = json!({"InstanceId": instance, "ContactFlowId": flow, "ParticipantDetails": {"DisplayName": name}});
        self.call(self.connect, "StartChatContact", params).await
    }

    pub async fn create_participant(
        &self,
        instance: &str,
        contact: &str,
        role: &str,
        name: &str,
    ) -> Result<Value, CliError> {
        let params = json!({"InstanceId": instance, "ContactId": contact,
            "ParticipantDetails": {"ParticipantRole": role, "DisplayName": name}});
        self.call(self.connect, "CreateParticipant", params).await
    }

    pub async fn connect(&self, participant_token: &str, mark_connected: bool) -> Result<Value, CliError> {
        let mut params =
            json!({"ParticipantToken": participant_token, "Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"]});
        if mark_connected {
            params["ConnectParticipant"] = Value::Bool(true);
        }
        self.call(self.participant, "CreateParticipantConnection", params).await
    }

    pub async fn send_message(&self, token: &str, text: &str) -> Result<Value, CliError> {
        let params = json!({"ConnectionToken": token, "ContentType": "text/plain", "Content": text});
        self.call(self.participant, "SendMessage", params).await
    }

    pub async fn send_event(
        &self,
        token: &str,
        content_type: &str,
        content: Option<&str>,
    ) -> Result<Value, CliError> {
        let mut params = json!({"ConnectionToken": token, "ContentType": content_type});
        if let Some(c) = content {
            params["Content"] = Value::String(c.to_owned());
        }
        self.call(self.participant, "SendEvent", params).await
    }

    /// The transcript, oldest first: all of it, or what came after item `after` (which the
    /// server includes: callers skip what they have seen).
    pub async fn transcript(&self, token: &str, after: Option<&str>) -> Result<Vec<Value>, CliError> {
        // With no start the scan runs backward from the newest item, a page at a time.
        let direction = if after.is_some() { "FORWARD" } else { "BACKWARD" };
        let mut pages: Vec<Vec<Value>> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut params = json!({"ConnectionToken": token, "ScanDirection": direction, "SortOrder": "ASCENDING", "MaxResults": 100});
            if let Some(id) = after {
                params["StartPosition"] = json!({"Id": id});
            }
            if let Some(n) = &next {
                params["NextToken"] = Value::String(n.clone());
            }
            let page = self.call(self.participant, "GetTranscript", params).await?;
            pages.push(page["Transcript"].as_array().cloned().unwrap_or_default());
            match page["NextToken"].as_str() {
                Some(n) if !n.is_empty() => next = Some(n.to_owned()),
                _ => break,
            }
        }
        if after.is_none() {
            pages.reverse();
        }
        Ok(pages.into_iter().flatten().collect())
    }

    pub async fn disconnect(&self, token: &str) -> Result<Value, CliError> {
        self.call(self.participant, "DisconnectParticipant", json!({"ConnectionToken": token})).await
    }

    /// StartAttachmentUpload, the upload itself, CompleteAttachmentUpload.
    pub async fn attach(&self, token: &str, path: &str) -> Result<String, CliError> {
        let bytes = std::fs::read(path).map_err(|e| CliError::Plain(format!("{path}: {e}")))?;
        let name = std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let params = json!({"ConnectionToken": token, "ContentType": content_type(&name),
            "AttachmentSizeInBytes": bytes.len(), "AttachmentName": name});
        let started = self.call(self.participant, "StartAttachmentUpload", params).await?;
        let id = started["AttachmentId"].as_str().unwrap_or_default().to_owned();
        let url = started["UploadMetadata"]["Url"].as_str().unwrap_or_default().to_owned();
        let mut put = reqwest::Client::new().put(&url).body(bytes);
        if let Some(headers) = started["UploadMetadata"]["HeadersToInclude"].as_object() {
            for (k, v) in headers {
                put = put.header(k, v.as_str().unwrap_or_default());
            }
        }
        let uploaded = put.send().await.map_err(|e| CliError::Plain(format!("upload failed: {e}")))?;
        if !uploaded.status().is_success() {
            return Err(CliError::Plain(format!("upload failed: HTTP {}", uploaded.status())));
        }
        self.call(
            self.participant,
            "CompleteAttachmentUpload",
            json!({"ConnectionToken": token, "AttachmentIds": [id]}),
        )
        .await?;
        Ok(name)
    }
}

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default().to_lowercase();
    match ext.as_str() {
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "csv" => "text/csv",
        "json" => "application/json",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}
