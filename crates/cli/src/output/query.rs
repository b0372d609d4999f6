//! `--query`: a JMESPath expression applied to the response before it is printed.
//!
//! The `jmespath` crate evaluates; its objects are sorted maps, while Python's keep insertion
//! order. So the keys of every object in the result are put back in the order Python would
//! show: the keys a multi-select hash names first (in expression order), then the order in
//! which keys appear in the response.

use jmespath::ast::Ast;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub struct Query {
    expression: jmespath::Expression<'static>,
    hash_keys: Vec<String>,
}

impl Query {
    pub fn compile(text: &str) -> Result<Query, String> {
        let expression = jmespath::compile(text).map_err(|e| e.to_string())?;
        let mut hash_keys = Vec::new();
        collect_hash_keys(expression.as_ast(), &mut hash_keys);
        Ok(Query { expression, hash_keys })
    }

    /// The result, or null when the expression fails at run time (a type error in a function).
    pub fn search(&self, data: &Value) -> Value {
        let Ok(result) = self.expression.search(data) else { return Value::Null };
        let Ok(value) = serde_json::to_value(&*result) else { return Value::Null };
        let mut ranks: HashMap<String, usize> = HashMap::new();
        for k in &self.hash_keys {
            let n = ranks.len();
            ranks.entry(k.clone()).or_insert(n);
        }
        rank_keys(data, &mut ranks);
        reorder(value, &ranks)
    }
}

fn collect_hash_keys(ast: &Ast, out: &mut Vec<String>) {
    match ast {
        Ast::MultiHash { elements, .. } => {
            for kv in elements {
                out.push(kv.key.clone());
                collect_hash_keys(&kv.value, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            collect_hash_keys(lhs, out);
            collect_hash_keys(rhs, out);
        }
        Ast::Condition { predicate, then, .. } => {
            collect_hash_keys(predicate, out);
            collect_hash_keys(then, out);
        }
        Ast::Expref { ast, .. } => collect_hash_keys(ast, out),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            collect_hash_keys(node, out)
        }
        Ast::Function { args, .. } => args.iter().for_each(|a| collect_hash_keys(a, out)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| collect_hash_keys(a, out)),
        _ => {}
    }
}

fn rank_keys(v: &Value, ranks: &mut HashMap<String, usize>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let n = ranks.len();
                ranks.entry(k.clone()).or_insert(n);
                rank_keys(item, ranks);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| rank_keys(i, ranks)),
        _ => {}
    }
}

fn reorder(v: Value, ranks: &HashMap<String, usize>) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by_key(|(k, _)| ranks.get(k).copied().unwrap_or(usize::MAX));
            Value::Object(entries.into_iter().map(|(k, v)| (k, reorder(v, ranks))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|i| reorder(i, ranks)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_response_and_expression_order() {
        let data = json!({"Transcript": [{"Id": "1", "Content": "hi", "Type": "MESSAGE"}]});
        let q = Query::compile("Transcript[].{T: Type, C: Content}").expect("query");
        assert_eq!(serde_json::to_string(&q.search(&data)).expect("json"), r#"[{"T":"MESSAGE","C":"hi"}]"#);
        let q = Query::compile("Transcript[0]").expect("query");
        assert_eq!(
            serde_json::to_string(&q.search(&data)).expect("json"),
            r#"{"Id":"1","Content":"hi","Type":"MESSAGE"}"#
        );
    }
}
