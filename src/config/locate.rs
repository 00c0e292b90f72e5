//! Where in the config text an error is, so that `routelet check` can print
//! `FILE:LINE:COL: message` for every error it reports.
//!
//! - Syntax errors: [`toml::de::DeTable::parse_recoverable`] reports every
//!   one it can recover from, each with a span.
//! - Schema errors (unknown key, wrong type): serde stops at the first, so
//!   [`deserialize`] removes the entry each error points at and tries again,
//!   up to [`MAX_SCHEMA_ERRORS`] times. A "missing field" after the first
//!   error may be the doing of such a removal, so it ends the search.
//! - Validation errors name an item (`subnet "v6-sub"`), not a place:
//!   [`locate_validation_errors`] finds that item's table in the parsed
//!   document, then the key the message starts with (`gateway_ip ...`), and
//!   for a list the element the message quotes.
//!
//! Offsets are the toml crate's byte spans; positions are 1-based lines and
//! columns counted in characters. Nothing here panics on any text.

use std::collections::HashMap;

use serde::Deserialize;
use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::{Config, ConfigError, ItemKind, Position, SyntaxError};

/// The most schema errors one load reports: each costs a deserialization
/// of the whole document, and a file with more has bigger problems.
pub const MAX_SCHEMA_ERRORS: usize = 20;

/// The line and column of byte `offset` of `text` (clamped to the text,
/// and back to a character boundary).
pub(crate) fn position_at(text: &str, offset: usize) -> Position {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    let before = text.get(..end).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    Position {
        line: before.matches('\n').count().saturating_add(1),
        column: before
            .get(line_start..)
            .unwrap_or_default()
            .chars()
            .count()
            .saturating_add(1),
    }
}

/// One toml error as a [`SyntaxError`], placed when it has a span.
pub(crate) fn syntax_error(text: &str, e: &toml::de::Error) -> SyntaxError {
    SyntaxError {
        position: e.span().map(|span| position_at(text, span.start)),
        message: e.message().trim_end().to_string(),
    }
}

/// Deserializes `doc` into a [`Config`], or returns its schema errors
/// (see the module doc), sorted by position.
pub(crate) fn deserialize(
    doc: &Spanned<DeTable<'_>>,
    text: &str,
) -> Result<Config, Vec<SyntaxError>> {
    let mut attempt = doc.clone();
    let mut errors: Vec<SyntaxError> = Vec::new();
    loop {
        let e = match Config::deserialize(toml::de::Deserializer::from(attempt.clone())) {
            Ok(config) if errors.is_empty() => return Ok(config),
            Ok(_) => break,
            Err(e) => e,
        };
        if !errors.is_empty() && e.message().starts_with("missing field") {
            break;
        }
        errors.push(syntax_error(text, &e));
        let Some(span) = e.span() else { break };
        if errors.len() >= MAX_SCHEMA_ERRORS || !remove_entry_at(attempt.get_mut(), span.start) {
            break;
        }
    }
    errors.sort_by_key(|e| e.position);
    Err(errors)
}

/// Removes the innermost table entry whose key or value holds byte
/// `offset`; `false` if there is none.
///
/// The spans of tables and arrays of tables cover only their headers, not
/// their contents, so every nested table is searched, not only the one
/// whose span holds `offset`.
fn remove_entry_at(table: &mut DeTable<'_>, offset: usize) -> bool {
    for (_, value) in table.iter_mut() {
        let removed = match value.get_mut() {
            DeValue::Table(inner) => remove_entry_at(inner, offset),
            DeValue::Array(items) => items.iter_mut().any(|item| match item.get_mut() {
                DeValue::Table(t) => remove_entry_at(t, offset),
                _ => false,
            }),
            _ => false,
        };
        if removed {
            return true;
        }
    }
    let holds = |k: &Spanned<DeString<'_>>, v: &Spanned<DeValue<'_>>| {
        k.span().contains(&offset) || v.span().contains(&offset)
    };
    let Some(key) = table
        .iter()
        .find(|(k, v)| holds(k, v))
        .map(|(k, _)| k.clone())
    else {
        return false;
    };
    table.remove(&key);
    true
}

/// Gives each validation error the position of what it is about (see the
/// module doc); errors it cannot place keep `None`.
pub(crate) fn locate_validation_errors(doc: &DeTable<'_>, text: &str, errors: &mut [ConfigError]) {
    // "duplicate name" and "duplicate destination" are reported on the
    // second and later items of that name: count them to find the item.
    let mut duplicates: HashMap<(ItemKind, String), usize> = HashMap::new();
    for e in errors.iter_mut() {
        let nth = if e.message().starts_with("duplicate") {
            let seen = duplicates
                .entry((e.kind(), e.name().to_string()))
                .or_insert(0);
            *seen = seen.saturating_add(1);
            *seen
        } else {
            0
        };
        if let Some(offset) = locate(doc, e, nth) {
            e.position = Some(position_at(text, offset));
        }
    }
}

/// The byte offset `e` is about: the key its message starts with inside
/// the item's table, else the item itself.
fn locate(doc: &DeTable<'_>, e: &ConfigError, nth: usize) -> Option<usize> {
    let (section_key, section) = entry(doc, e.kind().as_str())?;
    let (mut table, mut fallback) = match section.get_ref() {
        DeValue::Table(t) => (t, section_key.span().start),
        DeValue::Array(items) => {
            let item = items
                .iter()
                .filter(|item| match item.get_ref() {
                    DeValue::Table(t) => names_item(e.kind(), t, e.name()),
                    _ => false,
                })
                .nth(nth)?;
            let DeValue::Table(t) = item.get_ref() else {
                return None;
            };
            let name_key = if e.kind() == ItemKind::Route {
                "destination"
            } else {
                "name"
            };
            let start = entry(t, name_key).map_or(item.span().start, |(k, _)| k.span().start);
            (t, start)
        }
        _ => return None,
    };
    if let Some(rule) = e.rule_index() {
        let (_, rules) = entry(table, "rules")?;
        let DeValue::Array(rules) = rules.get_ref() else {
            return Some(fallback);
        };
        let Some(rule) = rules.get(rule.saturating_sub(1)) else {
            return Some(fallback);
        };
        fallback = rule.span().start;
        let DeValue::Table(t) = rule.get_ref() else {
            return Some(fallback);
        };
        table = t;
    }
    Some(find_key(table, e.message()).unwrap_or(fallback))
}

/// Whether the array-of-tables item `t` is the one named `name`: by
/// `name`, or for routes by `destination` (errors spell it normalized).
fn names_item(kind: ItemKind, t: &DeTable<'_>, name: &str) -> bool {
    let key = if kind == ItemKind::Route {
        "destination"
    } else {
        "name"
    };
    let Some((_, DeValue::String(s))) = entry(t, key).map(|(k, v)| (k, v.get_ref())) else {
        return false;
    };
    let s: &str = s;
    s == name
        || (kind == ItemKind::Route
            && s.parse::<ipnet::IpNet>()
                .is_ok_and(|n| n.to_string() == name))
}

/// The key the message names: one of its first two words, as
/// [`match_key`] spells it (`gateway_ip ...`, `unknown subnet "x"`), else
/// a later word that is exactly a key (`slaac needs a /64 cidr`). Descends
/// into sub-tables (`ra max_interval`) and, for lists, to the element the
/// message quotes.
fn find_key(table: &DeTable<'_>, message: &str) -> Option<usize> {
    let mut rest = message;
    for i in 0.. {
        if rest.is_empty() {
            return None;
        }
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        let word = word.trim_end_matches([':', ',', '.']);
        let found = if i < 2 {
            match_key(table, word)
        } else {
            entry(table, word)
        };
        if let Some((key, value)) = found {
            if let DeValue::Table(inner) = value.get_ref() {
                if let Some(offset) = find_key(inner, after) {
                    return Some(offset);
                }
            }
            if let DeValue::Array(items) = value.get_ref() {
                let quoted = items.iter().find(|item| match item.get_ref() {
                    DeValue::String(s) => mentions(message, s),
                    _ => false,
                });
                if let Some(item) = quoted {
                    return Some(item.span().start);
                }
            }
            return Some(key.span().start);
        }
        rest = after;
    }
    None
}

/// The entry for `word` as a message spells it: the key itself, its
/// plural (`fixed_ip` → `fixed_ips`, `address` → `addresses`) or a key it
/// starts (`allocation` → `allocation_pools`).
fn match_key<'t, 'i>(
    table: &'t DeTable<'i>,
    word: &str,
) -> Option<(&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>)> {
    if word.is_empty() {
        return None;
    }
    let key_is = |f: &dyn Fn(&str) -> bool| table.iter().find(|(k, _)| f(k.get_ref()));
    key_is(&|k| k == word)
        .or_else(|| key_is(&|k| k.strip_prefix(word).is_some_and(|s| s == "s" || s == "es")))
        .or_else(|| key_is(&|k| k.strip_prefix(word).is_some_and(|s| s.starts_with('_'))))
}

/// Whether `message` names the value `s`: quoted as `Debug` prints it, or
/// as a word of its own.
fn mentions(message: &str, s: &str) -> bool {
    !s.is_empty()
        && (message.contains(&format!("{s:?}"))
            || message
                .split(|c: char| c.is_whitespace() || c == ',')
                .any(|w| w == s))
}

/// The entry of `table` under `key`.
fn entry<'t, 'i>(
    table: &'t DeTable<'i>,
    key: &str,
) -> Option<(&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>)> {
    table.iter().find(|(k, _)| {
        let k: &str = k.get_ref();
        k == key
    })
}
