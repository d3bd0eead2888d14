//! A tiny element tree over quick-xml's pull reader. ISAPI XML documents are small, namespaced
//! differently by firmware (`ver10`, `ver20`, `isapi.org`, `hikvision.com`) and padded with fields
//! we do not need, so the driver looks elements up by local name instead of binding a schema.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

/// Deeper documents are not ISAPI; the bound keeps recursion over the tree safe.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name, without namespace prefix.
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Trimmed text of a direct child.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first element with this local name anywhere below (or at) this one.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// The element as JSON-like data: leaves become strings, repeated children arrays. Lets the
    /// event code read XML and JSON alerts through one set of accessors.
    pub fn to_json(&self) -> Value {
        if self.children.is_empty() {
            return Value::String(self.text.trim().to_string());
        }
        let mut map = Map::new();
        for c in &self.children {
            let v = c.to_json();
            match map.get_mut(&c.name) {
                Some(Value::Array(items)) => items.push(v),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, v]);
                }
                None => {
                    map.insert(c.name.clone(), v);
                }
            }
        }
        Value::Object(map)
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => name.to_string(),
    }
}

fn element_from(e: &quick_xml::events::BytesStart<'_>) -> Element {
    let mut el = Element { name: local(e.name().as_ref()), ..Element::default() };
    for a in e.attributes().flatten() {
        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map(|v| v.into_owned());
        el.attrs.push((local(a.key.as_ref()), value.unwrap_or_else(|_| a.value.to_string())));
    }
    el
}

/// Parses a whole document; the first root element is returned.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("XML error: {e}"))?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err("XML nested too deeply".into());
                }
                stack.push(element_from(&e));
            }
            Event::Empty(e) => {
                let el = element_from(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else { return Err("unbalanced XML".into()) };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.trim().is_empty() {
                    return Err("text outside the XML root element".into());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => {
                            let name = r.xml10_content();
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(v) => top.text.push_str(v),
                                None => return Err(format!("unknown XML entity &{name};")),
                            }
                        }
                    }
                }
            }
            Event::Eof => return Err("the XML document ends early or is empty".into()),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_namespaced_isapi_documents() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
  <deviceName>Gate &amp; Hall</deviceName>
  <model>DS-K2604</model>
  <hik:serialNumber xmlns:hik="x">S1</hik:serialNumber>
  <cmd opt="open,close"/>
</DeviceInfo>"#;
        let el = parse(doc).unwrap();
        assert_eq!(el.name, "DeviceInfo");
        assert_eq!(el.child_text("deviceName"), Some("Gate & Hall"));
        assert_eq!(el.child_text("serialNumber"), Some("S1"));
        assert_eq!(el.find("cmd").and_then(|c| c.attr("opt")), Some("open,close"));
        assert_eq!(el.to_json()["model"], "DS-K2604");
    }

    #[test]
    fn rejects_broken_documents_without_panicking() {
        for doc in ["", "<a>", "<a></b>", "text", "<a>&bogus;</a>", "{\"json\":1}", "<a><b></a>"] {
            assert!(parse(doc).is_err(), "{doc}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&deep).is_err());
    }
}
