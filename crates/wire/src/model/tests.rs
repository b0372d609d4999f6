//! Unit tests of each validation rule, on the vendored models and on small synthetic ones
//! (for rules the vendored input shapes do not exercise: patterns, floats, blobs, …).

use serde_json::{json, Value};

use super::schema::Model;
use super::validate::{MAX_DEPTH, MAX_VIOLATIONS};
use super::*;

fn err(api: Api, op: &str, input: Value) -> Invalid {
    match validate(api, op, &input) {
        Ok(()) => panic!("{op} accepted {input}"),
        Err(e) => e,
    }
}

fn ok(api: Api, op: &str, input: Value) {
    if let Err(e) = validate(api, op, &input) {
        panic!("{op} rejected {input}: {}", e.message);
    }
}

/// A one-operation model `Op` whose input is `Input`, built from `shapes`.
fn synthetic(shapes: Value) -> Model {
    let model = json!({
        "metadata": {},
        "operations": {"Op": {"name": "Op", "input": {"shape": "Input"}, "errors": [{"shape": "Oops"}]}},
        "shapes": shapes,
    });
    Model::from_json(&model).expect("synthetic model")
}

fn syn_err(model: &Model, input: Value) -> Invalid {
    match check(model, "Op", &input) {
        Ok(()) => panic!("accepted {input}"),
        Err(e) => e,
    }
}

fn syn_ok(model: &Model, input: Value) {
    if let Err(e) = check(model, "Op", &input) {
        panic!("rejected {input}: {}", e.message);
    }
}

const TOKEN: &str = "conn-token";

// ---------------------------------------------------------------- models and API

#[test]
fn vendored_models_load_with_all_operations() {
    let p = operations(Api::Participant);
    assert_eq!(p.len(), 11, "{p:?}");
    for op in [
        "CancelParticipantAuthentication",
        "CompleteAttachmentUpload",
        "CreateParticipantConnection",
        "DescribeView",
        "DisconnectParticipant",
        "GetAttachment",
        "GetAuthenticationUrl",
        "GetTranscript",
        "SendEvent",
        "SendMessage",
        "StartAttachmentUpload",
    ] {
        assert!(p.contains(&op), "{op} missing from {p:?}");
    }
    let mut c = operations(Api::Connect);
    c.sort_unstable();
    let mut want = vec![
        "StartChatContact",
        "CreateParticipant",
        "StopContact",
        "DescribeContact",
        "StartContactStreaming",
        "StopContactStreaming",
        "CreatePersistentContactAssociation",
        "UpdateParticipantRoleConfig",
        "SendChatIntegrationEvent",
        "TransferContact",
        "StartOutboundChatContact",
        "CreateView",
        "CreateViewVersion",
        "UpdateParticipantAuthentication",
    ];
    want.sort_unstable();
    assert_eq!(c, want);
}

#[test]
fn operation_errors_come_from_the_model() {
    let e = operation_errors(Api::Participant, "SendMessage");
    for name in
        ["AccessDeniedException", "InternalServerException", "ThrottlingException", "ValidationException"]
    {
        assert!(e.iter().any(|x| x == name), "{name} not in {e:?}");
    }
    assert!(!e.iter().any(|x| x == "ConflictException"));
    let e = operation_errors(Api::Participant, "DescribeView");
    assert!(e.iter().any(|x| x == "ResourceNotFoundException"), "{e:?}");
    let e = operation_errors(Api::Connect, "TransferContact");
    assert!(e.iter().any(|x| x == "IdempotencyException"), "{e:?}");
    assert!(e.iter().any(|x| x == "InvalidRequestException"), "{e:?}");
    assert!(operation_errors(Api::Participant, "NoSuchOperation").is_empty());
    assert!(operation_errors(Api::Connect, "SendMessage").is_empty());
}

#[test]
fn no_vendored_pattern_is_skipped() {
    let mut skipped = Vec::new();
    for (api, m) in [(Api::Participant, model(Api::Participant)), (Api::Connect, model(Api::Connect))] {
        for (p, shapes) in m.skipped_patterns() {
            skipped.push(format!("{api:?}: {p:?} (used by {shapes:?})"));
        }
    }
    assert!(skipped.is_empty(), "patterns not enforced (regex cannot compile them):\n{}", skipped.join("\n"));
    assert!(!model(Api::Participant).patterns.is_empty());
    assert!(!model(Api::Connect).patterns.is_empty());
}

#[test]
fn unknown_operation_is_rejected() {
    let e = err(Api::Participant, "StartChatContact", json!({}));
    assert_eq!(
        e.message,
        "1 validation error detected: Operation 'StartChatContact' is not part of the model"
    );
}

#[test]
fn input_must_be_an_object_and_null_is_empty() {
    let e = err(Api::Participant, "SendMessage", json!("x"));
    assert_eq!(e.violations, vec!["Input must be a JSON object".to_owned()]);
    let e = err(Api::Participant, "DisconnectParticipant", Value::Null);
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'connectionToken' failed to satisfy constraint: Member must not be null"
    );
}

// ---------------------------------------------------------------- structure

#[test]
fn required_members_must_be_present_and_not_null() {
    ok(
        Api::Participant,
        "SendMessage",
        json!({"ContentType": "text/plain", "Content": "hi", "ConnectionToken": TOKEN}),
    );
    let e = err(Api::Participant, "SendMessage", json!({"Content": "hi", "ConnectionToken": TOKEN}));
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'contentType' failed to satisfy constraint: Member must not be null"
    );
    let e = err(
        Api::Participant,
        "SendMessage",
        json!({"ContentType": null, "Content": "hi", "ConnectionToken": TOKEN}),
    );
    assert_eq!(e.violations.len(), 1);
    assert!(e.violations[0].starts_with("Value null at 'contentType'"));
    // header members are validated like body members
    let e = err(Api::Participant, "SendMessage", json!({"ContentType": "text/plain", "Content": "hi"}));
    assert!(e.message.contains("Value null at 'connectionToken'"), "{}", e.message);
}

#[test]
fn optional_null_members_are_absent() {
    ok(
        Api::Participant,
        "GetTranscript",
        json!({"ConnectionToken": TOKEN, "MaxResults": null, "StartPosition": null}),
    );
}

#[test]
fn unknown_members_are_ignored() {
    ok(
        Api::Participant,
        "SendMessage",
        json!({"ContentType": "text/plain", "Content": "hi", "ConnectionToken": TOKEN, "FutureMember": [1, {"x": null}]}),
    );
}

#[test]
fn nested_structures_are_validated_with_dotted_paths() {
    let e = err(
        Api::Participant,
        "GetTranscript",
        json!({"ConnectionToken": TOKEN, "StartPosition": {"MostRecent": 101}}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value '101' at 'startPosition.mostRecent' failed to satisfy constraint: Member must have value less than or equal to 100"
    );
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {}}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'participantDetails.displayName' failed to satisfy constraint: Member must not be null"
    );
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": "Jane"}),
    );
    assert_eq!(
        e.violations,
        vec!["Value 'Jane' at 'participantDetails' failed to satisfy constraint: Member must be an object"
            .to_owned()]
    );
}

#[test]
fn member_names_are_lower_camel_cased_by_first_character() {
    let e = err(
        Api::Participant,
        "GetAttachment",
        json!({"AttachmentId": "a", "ConnectionToken": TOKEN, "UrlExpiryInSeconds": 4}),
    );
    assert!(e.message.contains("at 'urlExpiryInSeconds'"), "{}", e.message);
    let m = synthetic(json!({
        "Input": {"type": "structure", "members": {"URLThing": {"shape": "S"}}},
        "S": {"type": "string", "max": 1},
    }));
    let e = syn_err(&m, json!({"URLThing": "ab"}));
    assert!(e.message.contains("at 'uRLThing'"), "{}", e.message);
}

#[test]
fn union_needs_exactly_one_member() {
    let timer = |value: Value| {
        json!({
            "InstanceId": "i",
            "ContactId": "c",
            "ChannelConfiguration": {"Chat": {"ParticipantTimerConfigList": [
                {"ParticipantRole": "CUSTOMER", "TimerType": "IDLE", "TimerValue": value}
            ]}}
        })
    };
    ok(Api::Connect, "UpdateParticipantRoleConfig", timer(json!({"ParticipantTimerDurationInMinutes": 5})));
    ok(Api::Connect, "UpdateParticipantRoleConfig", timer(json!({"ParticipantTimerAction": "Unset"})));
    ok(
        Api::Connect,
        "UpdateParticipantRoleConfig",
        timer(json!({"ParticipantTimerAction": "Unset", "ParticipantTimerDurationInMinutes": null})),
    );
    let e = err(
        Api::Connect,
        "UpdateParticipantRoleConfig",
        timer(json!({"ParticipantTimerAction": "Unset", "ParticipantTimerDurationInMinutes": 5})),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value at 'channelConfiguration.chat.participantTimerConfigList.1.member.timerValue' failed to satisfy constraint: Member must have exactly one member set (found 2)"
    );
    let e = err(Api::Connect, "UpdateParticipantRoleConfig", timer(json!({})));
    assert!(e.message.contains("exactly one member set (found 0)"), "{}", e.message);
    // an unknown (newer) variant alone is not a known member
    let e = err(Api::Connect, "UpdateParticipantRoleConfig", timer(json!({"NewVariant": 1})));
    assert!(e.message.contains("exactly one member set (found 0)"), "{}", e.message);
    // the set member is validated too
    let e = err(
        Api::Connect,
        "UpdateParticipantRoleConfig",
        timer(json!({"ParticipantTimerDurationInMinutes": 1})),
    );
    assert!(
        e.message.contains(
            "Value '1' at 'channelConfiguration.chat.participantTimerConfigList.1.member.timerValue.participantTimerDurationInMinutes' failed to satisfy constraint: Member must have value greater than or equal to 2"
        ),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------- strings

#[test]
fn string_length_counts_code_points() {
    let send =
        |content: String| json!({"ContentType": "text/plain", "Content": content, "ConnectionToken": TOKEN});
    ok(Api::Participant, "SendMessage", send("é".repeat(16384)));
    ok(Api::Participant, "SendMessage", send("😀".repeat(16384)));
    let e = err(Api::Participant, "SendMessage", send("é".repeat(16385)));
    assert_eq!(e.violations.len(), 1);
    assert!(
        e.violations[0].ends_with(
            "at 'content' failed to satisfy constraint: Member must have length less than or equal to 16384"
        ),
        "{}",
        e.violations[0]
    );
    let e = err(Api::Participant, "SendMessage", send(String::new()));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '' at 'content' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    // SessionId is exactly 36 characters
    let auth = |sid: &str| json!({"SessionId": sid, "RedirectUri": "https://x", "ConnectionToken": TOKEN});
    ok(Api::Participant, "GetAuthenticationUrl", auth(&"a".repeat(36)));
    ok(Api::Participant, "GetAuthenticationUrl", auth(&"ä".repeat(36)));
    let e = err(Api::Participant, "GetAuthenticationUrl", auth(&"ä".repeat(35)));
    assert!(e.message.contains("length greater than or equal to 36"), "{}", e.message);
    let e = err(Api::Participant, "GetAuthenticationUrl", auth(&"a".repeat(37)));
    assert!(e.message.contains("length less than or equal to 36"), "{}", e.message);
}

#[test]
fn enum_values_are_enforced() {
    let e = err(
        Api::Participant,
        "GetTranscript",
        json!({"ConnectionToken": TOKEN, "ScanDirection": "SIDEWAYS"}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'SIDEWAYS' at 'scanDirection' failed to satisfy constraint: Member must satisfy enum value set: [FORWARD, BACKWARD]"
    );
    ok(Api::Participant, "GetTranscript", json!({"ConnectionToken": TOKEN, "ScanDirection": "BACKWARD"}));
    // case matters
    err(Api::Participant, "GetTranscript", json!({"ConnectionToken": TOKEN, "ScanDirection": "forward"}));
}

#[test]
fn pattern_is_unanchored_and_enforced() {
    let m = synthetic(json!({
        "Input": {"type": "structure", "members": {
            "Id": {"shape": "Guid"}, "Anchored": {"shape": "ViewId"}, "Tag": {"shape": "TagKey"}
        }},
        "Guid": {"type": "string", "pattern": "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}"},
        "ViewId": {"type": "string", "max": 500, "min": 1, "pattern": "^[a-zA-Z0-9\\_\\-:\\/$]+$"},
        "TagKey": {"type": "string", "max": 128, "min": 1, "pattern": "^(?!aws:)[a-zA-Z+-=._:/]+$"},
    }));
    syn_ok(&m, json!({"Id": "0f5e6e1c-1d3a-4b9d-8c7e-123456789abc"}));
    // unanchored: surrounding text is allowed by this (unanchored) model pattern
    syn_ok(&m, json!({"Id": "x-0f5e6e1c-1d3a-4b9d-8c7e-123456789abc-y"}));
    let e = syn_err(&m, json!({"Id": "not-a-guid"}));
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'not-a-guid' at 'id' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}"
    );
    syn_ok(&m, json!({"Anchored": "arn:aws:connect/view$1"}));
    syn_err(&m, json!({"Anchored": "has space"}));
    syn_ok(&m, json!({"Tag": "department"}));
    let e = syn_err(&m, json!({"Tag": "aws:reserved"}));
    assert!(e.message.contains("regular expression pattern: ^(?!aws:)"), "{}", e.message);
    // several string constraints fail independently
    let e = syn_err(&m, json!({"Tag": ""}));
    assert_eq!(e.violations.len(), 2, "{:?}", e.violations);
    assert!(e.message.starts_with("2 validation errors detected: "));
}

#[test]
fn wrong_json_types_are_violations() {
    let e = err(
        Api::Participant,
        "SendMessage",
        json!({"ContentType": "text/plain", "Content": 5, "ConnectionToken": TOKEN}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value '5' at 'content' failed to satisfy constraint: Member must be a string"
    );
    let e = err(
        Api::Participant,
        "CreateParticipantConnection",
        json!({"ParticipantToken": "p", "ConnectParticipant": "true", "Type": "WEBSOCKET"}),
    );
    assert_eq!(e.violations.len(), 2, "{:?}", e.violations);
    assert!(e
        .message
        .contains("Value 'WEBSOCKET' at 'type' failed to satisfy constraint: Member must be a list"));
    assert!(e.message.contains(
        "Value 'true' at 'connectParticipant' failed to satisfy constraint: Member must be a boolean"
    ));
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "Attributes": ["a"]}),
    );
    assert!(
        e.message.contains("Value '[a]' at 'attributes' failed to satisfy constraint: Member must be a map"),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------- numbers

#[test]
fn integer_range_and_type() {
    let t = |v: Value| json!({"ConnectionToken": TOKEN, "MaxResults": v});
    ok(Api::Participant, "GetTranscript", t(json!(0)));
    ok(Api::Participant, "GetTranscript", t(json!(100)));
    let e = err(Api::Participant, "GetTranscript", t(json!(101)));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
    );
    let e = err(Api::Participant, "GetTranscript", t(json!(-1)));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '-1' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0"
    );
    for bad in [json!(1.5), json!(10.0), json!("10"), json!(true), json!([1])] {
        let e = err(Api::Participant, "GetTranscript", t(bad.clone()));
        assert!(
            e.message.ends_with("at 'maxResults' failed to satisfy constraint: Member must be an integer"),
            "{bad}: {}",
            e.message
        );
    }
    // an integer without model bounds is still 32-bit
    let seg = |v: Value| {
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"},
               "SegmentAttributes": {"connect:Subtype": {"ValueInteger": v}}})
    };
    ok(Api::Connect, "StartChatContact", seg(json!(i32::MAX)));
    ok(Api::Connect, "StartChatContact", seg(json!(i32::MIN)));
    let e = err(Api::Connect, "StartChatContact", seg(json!(i64::from(i32::MAX) + 1)));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '2147483648' at 'segmentAttributes.connect:Subtype.valueInteger' failed to satisfy constraint: Member must have value less than or equal to 2147483647"
    );
}

#[test]
fn long_range_and_type() {
    let up = |v: Value| json!({"ContentType": "image/png", "AttachmentSizeInBytes": v, "AttachmentName": "a.png", "ClientToken": "t", "ConnectionToken": TOKEN});
    ok(Api::Participant, "StartAttachmentUpload", up(json!(1)));
    ok(Api::Participant, "StartAttachmentUpload", up(json!(i64::MAX)));
    let e = err(Api::Participant, "StartAttachmentUpload", up(json!(0)));
    assert!(e.message.ends_with("Value '0' at 'attachmentSizeInBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"), "{}", e.message);
    let e = err(Api::Participant, "StartAttachmentUpload", up(json!(u64::MAX)));
    assert!(
        e.message.ends_with("Member must have value less than or equal to 9223372036854775807"),
        "{}",
        e.message
    );
    let e = err(Api::Participant, "StartAttachmentUpload", up(json!("12")));
    assert!(e.message.ends_with("Member must be an integer"), "{}", e.message);
}

#[test]
fn float_boolean_timestamp_blob() {
    let m = synthetic(json!({
        "Input": {"type": "structure", "members": {
            "Level": {"shape": "Level"}, "D": {"shape": "D"}, "Flag": {"shape": "Flag"},
            "At": {"shape": "At"}, "Data": {"shape": "Data"}
        }},
        "Level": {"type": "float", "min": 1.0, "max": 5.0},
        "D": {"type": "double"},
        "Flag": {"type": "boolean"},
        "At": {"type": "timestamp"},
        "Data": {"type": "blob"},
    }));
    syn_ok(&m, json!({"Level": 1, "D": 1e300, "Flag": false, "At": 1_700_000_000.5, "Data": "aGk="}));
    syn_ok(&m, json!({"Level": 4.5, "D": "NaN", "At": "2024-01-01T00:00:00Z", "Data": ""}));
    syn_ok(&m, json!({"D": "-Infinity"}));
    let e = syn_err(&m, json!({"Level": 5.5}));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '5.5' at 'level' failed to satisfy constraint: Member must have value less than or equal to 5.0"
    );
    let e = syn_err(&m, json!({"Level": 0.5}));
    assert!(e.message.ends_with("Member must have value greater than or equal to 1.0"), "{}", e.message);
    let e = syn_err(&m, json!({"Level": "Infinity"}));
    assert!(e.message.ends_with("Member must have value less than or equal to 5.0"), "{}", e.message);
    let e = syn_err(&m, json!({"D": "1.5"}));
    assert!(e.message.ends_with("Member must be a number"), "{}", e.message);
    let e = syn_err(&m, json!({"Flag": 1}));
    assert!(
        e.message.ends_with("Value '1' at 'flag' failed to satisfy constraint: Member must be a boolean"),
        "{}",
        e.message
    );
    let e = syn_err(&m, json!({"At": true}));
    assert!(
        e.message.contains("at 'at' failed to satisfy constraint: Member must be a timestamp"),
        "{}",
        e.message
    );
    let e = syn_err(&m, json!({"Data": [1, 2]}));
    assert!(
        e.message.ends_with("at 'data' failed to satisfy constraint: Member must be a base64-encoded string"),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------- lists and maps

#[test]
fn list_length_and_members() {
    let c = |ids: Value| json!({"AttachmentIds": ids, "ClientToken": "t", "ConnectionToken": TOKEN});
    ok(Api::Participant, "CompleteAttachmentUpload", c(json!(["a"])));
    let e = err(Api::Participant, "CompleteAttachmentUpload", c(json!(["a", "b"])));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '[a, b]' at 'attachmentIds' failed to satisfy constraint: Member must have length less than or equal to 1"
    );
    let e = err(Api::Participant, "CompleteAttachmentUpload", c(json!([])));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '[]' at 'attachmentIds' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    let e = err(Api::Participant, "CompleteAttachmentUpload", c(json!([""])));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '' at 'attachmentIds.1.member' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    let e = err(Api::Participant, "CompleteAttachmentUpload", c(json!([null])));
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'attachmentIds.1.member' failed to satisfy constraint: Member must not be null"
    );
    let e = err(
        Api::Participant,
        "CreateParticipantConnection",
        json!({"ParticipantToken": "p", "Type": ["WEBSOCKET", "BOGUS"]}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value 'BOGUS' at 'type.2.member' failed to satisfy constraint: Member must satisfy enum value set: [WEBSOCKET, CONNECTION_CREDENTIALS, WEBRTC_CONNECTION]"
    );
}

#[test]
fn map_keys_values_and_size() {
    let start = |attrs: Value| json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "Attributes": attrs});
    ok(Api::Connect, "StartChatContact", start(json!({"k": "", "other": "v"})));
    let e = err(Api::Connect, "StartChatContact", start(json!({"": "v"})));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '' at 'attributes' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length greater than or equal to 1]"
    );
    let e = err(Api::Connect, "StartChatContact", start(json!({"k": 1})));
    assert_eq!(
        e.message,
        "1 validation error detected: Value '1' at 'attributes.k' failed to satisfy constraint: Member must be a string"
    );
    let e = err(Api::Connect, "StartChatContact", start(json!({"k": "x".repeat(32768)})));
    assert!(e.message.contains("at 'attributes.k' failed to satisfy constraint: Member must have length less than or equal to 32767"), "{}", e.message);

    let m = synthetic(json!({
        "Input": {"type": "structure", "members": {"Tags": {"shape": "Tags"}}},
        "Tags": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Val"}, "min": 1, "max": 2},
        "Key": {"type": "string", "min": 1, "max": 3, "enum": ["a", "bb", "ccc"]},
        "Val": {"type": "integer", "max": 10},
    }));
    syn_ok(&m, json!({"Tags": {"a": 1, "bb": 10}}));
    let e = syn_err(&m, json!({"Tags": {}}));
    assert_eq!(
        e.message,
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    let e = syn_err(&m, json!({"Tags": {"a": 1, "bb": 2, "ccc": 3}}));
    assert!(e.message.ends_with("Member must have length less than or equal to 2"), "{}", e.message);
    let e = syn_err(&m, json!({"Tags": {"dddd": 11}}));
    assert_eq!(e.violations.len(), 2, "{:?}", e.violations);
    assert_eq!(
        e.violations[0],
        "Value 'dddd' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [a, bb, ccc], Member must have length less than or equal to 3]"
    );
    assert_eq!(
        e.violations[1],
        "Value '11' at 'tags.dddd' failed to satisfy constraint: Member must have value less than or equal to 10"
    );
    let e = syn_err(&m, json!({"Tags": {"a": null}}));
    assert!(e
        .message
        .contains("Value null at 'tags.a' failed to satisfy constraint: Member must not be null"));
}

// ---------------------------------------------------------------- display

#[test]
fn sensitive_values_are_never_printed() {
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "CustomerId": "secret-customer".repeat(10)}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value at 'customerId' failed to satisfy constraint: Member must have length less than or equal to 128"
    );
    assert!(!e.message.contains("secret"));
    // sensitivity is inherited by everything below a sensitive shape
    let m = synthetic(json!({
        "Input": {"type": "structure", "members": {"Creds": {"shape": "Creds"}, "Keys": {"shape": "Keys"}}},
        "Creds": {"type": "structure", "sensitive": true, "members": {"Pin": {"shape": "Pin"}}},
        "Pin": {"type": "string", "max": 4},
        "Keys": {"type": "map", "key": {"shape": "SecretKey"}, "value": {"shape": "Pin"}},
        "SecretKey": {"type": "string", "sensitive": true, "max": 2},
    }));
    let e = syn_err(&m, json!({"Creds": {"Pin": "123456"}, "Keys": {"hidden": "1"}}));
    assert_eq!(
        e.violations,
        vec![
            "Value at 'creds.pin' failed to satisfy constraint: Member must have length less than or equal to 4".to_owned(),
            "Value at 'keys' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 2]".to_owned(),
        ]
    );
    // a missing sensitive member is still reported as null
    let m = synthetic(json!({
        "Input": {"type": "structure", "required": ["Pin"], "members": {"Pin": {"shape": "Secret"}}},
        "Secret": {"type": "string", "sensitive": true},
    }));
    let e = syn_err(&m, json!({}));
    assert!(e.message.contains("Value null at 'pin'"));
}

#[test]
fn long_values_are_truncated() {
    let e = err(
        Api::Participant,
        "SendMessage",
        json!({"ContentType": "x".repeat(200), "Content": "hi", "ConnectionToken": TOKEN}),
    );
    let shown = format!("Value '{}...' at 'contentType'", "x".repeat(64));
    assert!(e.message.contains(&shown), "{}", e.message);
    assert!(e.message.len() < 300);
}

#[test]
fn several_violations_are_counted_and_joined() {
    let e = err(Api::Participant, "GetTranscript", json!({"MaxResults": 500, "ScanDirection": "SIDEWAYS"}));
    assert_eq!(e.violations.len(), 3, "{:?}", e.violations);
    assert_eq!(e.message, format!("3 validation errors detected: {}", e.violations.join("; ")));
    assert_eq!(e.to_string(), e.message);
}

#[test]
fn violations_are_capped_and_message_bounded() {
    let ids: Vec<Value> = (0..1000).map(|_| json!("")).collect();
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "SupportedMessagingContentTypes": ids}),
    );
    assert_eq!(e.violations.len(), MAX_VIOLATIONS);
    assert!(e.message.starts_with(&format!("{MAX_VIOLATIONS} validation errors detected: ")));
    assert!(e.message.chars().count() <= 2000);
    assert!(e.message.ends_with("..."));
}

#[test]
fn deep_nesting_is_rejected() {
    // SegmentAttributeValue is recursive through ValueMap
    let mut v = json!({"ValueString": "x"});
    for _ in 0..(MAX_DEPTH + 5) {
        v = json!({"ValueMap": {"k": v}});
    }
    let e = err(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "SegmentAttributes": {"s": v}}),
    );
    assert_eq!(e.violations.len(), 1, "{:?}", e.violations);
    assert!(e.message.contains("levels deep"), "{}", e.message);
    // moderate nesting is fine
    let mut v = json!({"ValueList": [{"ValueInteger": 3}]});
    for _ in 0..10 {
        v = json!({"ValueMap": {"k": v}});
    }
    ok(
        Api::Connect,
        "StartChatContact",
        json!({"InstanceId": "i", "ContactFlowId": "f", "ParticipantDetails": {"DisplayName": "d"}, "SegmentAttributes": {"s": v}}),
    );
}

#[test]
fn synthetic_model_errors_are_reported() {
    let bad = json!({"operations": {}, "shapes": {"A": {"type": "list", "member": {"shape": "Nope"}}}});
    assert!(Model::from_json(&bad).expect_err("unknown target").contains("Nope"));
    let bad =
        json!({"operations": {}, "shapes": {"A": {"type": "structure", "required": ["X"], "members": {}}}});
    assert!(Model::from_json(&bad).expect_err("bad required").contains("X"));
    let bad = json!({"operations": {}, "shapes": {"A": {"type": "document"}}});
    assert!(Model::from_json(&bad).expect_err("unknown type").contains("document"));
    let m = synthetic(
        json!({"Input": {"type": "structure", "members": {}}, "Oops": {"type": "structure", "members": {}}}),
    );
    assert!(m.shape_id("Oops").is_some());
    assert_eq!(m.operation("Op").map(|o| o.errors.clone()), Some(vec!["Oops".to_owned()]));
}

/// Patterns of the full shared connect model that `regex` cannot express; none is used by the
/// vendored chat subset (see `no_vendored_pattern_is_skipped`).
const KNOWN_UNSUPPORTED: &[(&str, &str)] = &[
    // written as a JavaScript literal `/…/` with look-aheads not right after a leading `^`
    ("Password", "/^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d)[a-zA-Z\\d\\S]{8,64}$/"),
    // unanchored leading look-ahead
    (
        "PrimaryAttributeContextKeyName",
        "(?!aws:|connect:)[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]+$",
    ),
];

#[test]
fn patterns_of_the_full_shared_models_compile() {
    // not vendored, but a wider net for the pattern translation: every pattern of the
    // complete botocore models in ../shared/aws-models (when present)
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/aws-models");
    if !dir.is_dir() {
        eprintln!("note: {} absent; skipped", dir.display());
        return;
    }
    for file in ["connect.json", "connectparticipant.json"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("readable model");
        let value: Value = serde_json::from_str(&text).expect("JSON model");
        let m = Model::from_json(&value).expect("model compiles");
        assert!(!m.patterns.is_empty());
        let unexpected: Vec<_> = m
            .skipped_patterns()
            .into_iter()
            .filter(|(p, shapes)| {
                !KNOWN_UNSUPPORTED.iter().any(|(s, q)| q == p && shapes.iter().all(|x| x == s))
            })
            .collect();
        assert!(unexpected.is_empty(), "{file}: patterns not enforced: {unexpected:#?}");
    }
}
