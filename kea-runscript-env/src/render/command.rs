//! Renderers of a control command (`command_processed`): its name, its arguments as JSON,
//! and the result and text of Kea's response.

use serde::Deserialize;

use super::env::Env;

/// The most bytes of JSON or text one variable of a command carries. Linux refuses an
/// environment string over 128 KiB (`MAX_ARG_STRLEN`), and a command's arguments can be a
/// whole configuration (`config-set`) or hundreds of leases (`lease6-bulk-apply`).
pub const COMMAND_VALUE_MAX_BYTES: usize = 65_536;

/// `<P>` = the command's name.
pub(crate) fn name(env: &mut Env, name: Option<&crate::Text>) {
    env.text("", name);
}

/// `<P>` = the arguments as compact JSON, cut at [`COMMAND_VALUE_MAX_BYTES`] (at a UTF-8
/// character boundary; a cut value is no longer valid JSON); `<P>_TRUNCATED` = whether it was
/// cut. Both empty when the command had no arguments.
pub(crate) fn arguments(env: &mut Env, json: Option<&str>) {
    let cut = json.map(bounded);
    env.text("", cut);
    env.word(
        "_TRUNCATED",
        json.zip(cut).map(|(whole, cut)| {
            if cut.len() < whole.len() {
                "true"
            } else {
                "false"
            }
        }),
    );
}

/// `<P>_RESULT` = the response's integer `result`, `<P>_TEXT` = its `text` (cut at
/// [`COMMAND_VALUE_MAX_BYTES`]); each empty when the response, or that member, is absent or
/// of another JSON type.
pub(crate) fn response(env: &mut Env, json: Option<&str>) {
    let head = json.and_then(|text| serde_json::from_str::<Head>(text).ok());
    let result = head.as_ref().and_then(|h| h.result.as_ref()?.as_i64());
    env.set("_RESULT", result, |out, value| {
        use std::fmt::Write as _;
        let _ = write!(out, "{value}");
    });
    let text = head.as_ref().and_then(|h| h.text.as_ref()?.as_str());
    env.text("_TEXT", text.map(bounded));
}

/// The two members of Kea's answer the variables show; the rest (a response's `arguments`
/// can be a whole configuration) is skipped without being built.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    text: Option<serde_json::Value>,
}

/// `text` cut to at most [`COMMAND_VALUE_MAX_BYTES`] bytes, at a character boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= COMMAND_VALUE_MAX_BYTES {
        return text;
    }
    let mut end = COMMAND_VALUE_MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(render: impl FnOnce(&mut Env)) -> Vec<(String, String)> {
        let mut env = Env::with_capacity(4);
        env.scoped("COMMAND", render);
        env.into_vars()
            .to_pairs()
            .into_iter()
            .map(|(n, v)| (n, v.to_string_lossy().into_owned()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn long_arguments_are_cut_at_a_character_boundary_and_flagged() {
        // 'é' is two bytes and starts at odd offsets: the limit falls inside one.
        let long = format!("\"{}\"", "é".repeat(COMMAND_VALUE_MAX_BYTES));
        let vars = rendered(|env| arguments(env, Some(&long)));
        assert_eq!(vars[0].1.len(), COMMAND_VALUE_MAX_BYTES - 1);
        assert!(long.starts_with(&vars[0].1));
        assert_eq!(vars[1], ("COMMAND_TRUNCATED".into(), "true".into()));

        let exact = "x".repeat(COMMAND_VALUE_MAX_BYTES);
        let vars = rendered(|env| arguments(env, Some(&exact)));
        assert_eq!(vars[0].1, exact);
        assert_eq!(vars[1].1, "false");

        assert_eq!(
            rendered(|env| arguments(env, None)),
            pairs(&[("COMMAND", ""), ("COMMAND_TRUNCATED", "")])
        );
    }

    #[test]
    fn result_and_text_come_from_the_response_object_only() {
        let cases: &[(Option<&str>, &str, &str)] = &[
            (
                Some(r#"{"result":0,"text":"ok","arguments":{"a":[1]}}"#),
                "0",
                "ok",
            ),
            (Some(r#"{"result":-1}"#), "-1", ""),
            (Some(r#"{"result":"0","text":7}"#), "", ""),
            (Some(r#"{"result":1.5,"text":"t"}"#), "", "t"),
            (Some(r#"[{"result":0,"text":"a list"}]"#), "", ""),
            (Some("not json"), "", ""),
            (None, "", ""),
        ];
        for &(json, result, text) in cases {
            assert_eq!(
                rendered(|env| response(env, json)),
                pairs(&[("COMMAND_RESULT", result), ("COMMAND_TEXT", text)]),
                "{json:?}"
            );
        }
    }
}
