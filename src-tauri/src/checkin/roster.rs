//! Roster files (专家名单): JSON and CSV, validated whole. A file with any bad row imports nothing,
//! and the report names every bad row, so the supervisor fixes the file once, not row by row.
//!
//! JSON: `{"experts": [{"name", "idNumber", "expertType", "isChair", "photoDataUrl"}]}` or the bare list.
//! CSV (UTF-8, optional BOM): a header row naming the columns `name,id_number,expert_type,is_chair`
//! (Chinese headers 姓名,身份证号,专家类型,是否组长 also work); `is_chair` is 1/0, true/false or 是/否.

use std::collections::HashMap;

use super::views::{RosterExpertInput, RosterFormat, RosterRowError};
use crate::domain::expert::IdNumber;

/// Photos travel as data URLs; a passport-style JPEG is far below this.
pub const MAX_PHOTO_BYTES: usize = 300 * 1024;
pub const MAX_ROWS: usize = 500;

/// A checked roster row.
#[derive(Debug, Clone)]
pub struct Expert {
    pub name: String,
    pub id: IdNumber,
    pub expert_type: String,
    pub is_chair: bool,
    pub photo_data_url: Option<String>,
}

/// The sealed part of a roster entry.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedExpert {
    pub name: String,
    pub id_number: String,
    pub expert_type: String,
    pub photo_data_url: Option<String>,
}

pub fn parse(format: RosterFormat, content: &str) -> Result<Vec<Expert>, Vec<RosterRowError>> {
    let rows = match format {
        RosterFormat::Json => parse_json(content)?,
        RosterFormat::Csv => parse_csv(content)?,
    };
    if rows.is_empty() {
        return Err(vec![file_error("名单中没有专家。", "The roster has no experts.")]);
    }
    if rows.len() > MAX_ROWS {
        return Err(vec![file_error(
            &format!("名单超过 {MAX_ROWS} 行，请检查文件是否正确。"),
            &format!("The roster has more than {MAX_ROWS} rows; check that this is the right file."),
        )]);
    }
    let mut errors = Vec::new();
    let mut experts = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, input) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        match check(input) {
            Ok(e) => {
                if let Some(first) = seen.insert(e.id.as_str().to_string(), i + 1) {
                    errors.push(row_error(
                        row,
                        "idNumber",
                        &format!("与第 {first} 行的身份证号重复。"),
                        &format!("Same ID number as row {first}."),
                    ));
                } else {
                    experts.push(e);
                }
            }
            Err((field, message)) => errors.push(RosterRowError { row, field, message }),
        }
    }
    if errors.is_empty() { Ok(experts) } else { Err(errors) }
}

/// Validates one expert (also used for a substitute a supervisor types in).
pub fn check(input: &RosterExpertInput) -> Result<Expert, (String, String)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err((
            "name".into(),
            localized("姓名不能为空，且不超过 50 个字。", "The name must be 1–50 characters."),
        ));
    }
    let id =
        IdNumber::parse(&input.id_number).map_err(|e| ("idNumber".to_string(), e.message().to_string()))?;
    let expert_type = input.expert_type.trim();
    if expert_type.is_empty() || expert_type.chars().count() > 50 {
        return Err((
            "expertType".into(),
            localized("专家类型不能为空，且不超过 50 个字。", "The expert type must be 1–50 characters."),
        ));
    }
    let photo = match input.photo_data_url.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => {
            let ok_prefix =
                ["data:image/jpeg;base64,", "data:image/png;base64,"].iter().any(|x| p.starts_with(x));
            if !ok_prefix || p.len() > MAX_PHOTO_BYTES * 4 / 3 + 32 {
                return Err((
                    "photoDataUrl".into(),
                    localized(
                        "照片须为 JPEG 或 PNG 的 data URL，且不超过 300 KB。",
                        "The photo must be a JPEG or PNG data URL of at most 300 KB.",
                    ),
                ));
            }
            Some(p.to_string())
        }
    };
    Ok(Expert {
        name: name.to_string(),
        id,
        expert_type: expert_type.to_string(),
        is_chair: input.is_chair,
        photo_data_url: photo,
    })
}

fn parse_json(content: &str) -> Result<Vec<RosterExpertInput>, Vec<RosterRowError>> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Doc {
        Wrapped { experts: Vec<serde_json::Value> },
        Bare(Vec<serde_json::Value>),
    }
    let doc: Doc = serde_json::from_str(content.trim_start_matches('\u{feff}')).map_err(|e| {
        vec![file_error(
            &format!("不是有效的名单 JSON（第 {} 行第 {} 列）：应为专家数组或 {{\"experts\": [...]}}。", e.line(), e.column()),
            &format!(
                "Not a roster JSON (line {}, column {}): expected a list of experts or {{\"experts\": [...]}}.",
                e.line(),
                e.column()
            ),
        )]
    })?;
    let values = match doc {
        Doc::Wrapped { experts } | Doc::Bare(experts) => experts,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        match serde_json::from_value::<RosterExpertInput>(v) {
            Ok(e) => out.push(e),
            Err(e) => errors.push(row_error(
                i as u32 + 1,
                "",
                &format!("字段缺失或类型不对：{e}"),
                &format!("A field is missing or has the wrong type: {e}"),
            )),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn parse_csv(content: &str) -> Result<Vec<RosterExpertInput>, Vec<RosterRowError>> {
    let records = split_csv(content.trim_start_matches('\u{feff}')).map_err(|(line, zh, en)| {
        vec![file_error(&format!("第 {line} 行：{zh}"), &format!("line {line}: {en}"))]
    })?;
    let mut it = records.into_iter().filter(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    let Some(header) = it.next() else {
        return Err(vec![file_error("文件是空的。", "The file is empty.")]);
    };
    let column =
        |names: &[&str]| header.iter().position(|h| names.contains(&h.trim().to_lowercase().as_str()));
    let name = column(&["name", "姓名"]);
    let id = column(&["id_number", "idnumber", "身份证号", "身份证号码"]);
    let kind = column(&["expert_type", "experttype", "专家类型"]);
    let chair = column(&["is_chair", "ischair", "是否组长", "组长"]);
    let (Some(name), Some(id), Some(kind)) = (name, id, kind) else {
        return Err(vec![file_error(
            "表头须包含 name、id_number、expert_type（或 姓名、身份证号、专家类型）列。",
            "The header must name the columns name, id_number and expert_type (or 姓名, 身份证号, 专家类型).",
        )]);
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in it.enumerate() {
        let cell = |c: usize| r.get(c).map(|s| s.trim().to_string()).unwrap_or_default();
        let is_chair = match chair.map(cell).as_deref() {
            None | Some("") | Some("0") | Some("false") | Some("否") | Some("no") => false,
            Some("1") | Some("true") | Some("是") | Some("yes") => true,
            Some(other) => {
                errors.push(row_error(
                    i as u32 + 1,
                    "isChair",
                    &format!("是否组长应为 是/否 或 1/0，而不是 “{other}”。"),
                    &format!("is_chair must be 1/0, true/false or 是/否, not \"{other}\"."),
                ));
                continue;
            }
        };
        out.push(RosterExpertInput {
            name: cell(name),
            id_number: cell(id),
            expert_type: cell(kind),
            is_chair,
            photo_data_url: None,
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.
fn split_csv(text: &str) -> Result<Vec<Vec<String>>, (usize, &'static str, &'static str)> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err((line, "引号没有闭合。", "a quoted field is not closed."));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

fn localized(zh: &str, en: &str) -> String {
    match crate::error::locale() {
        crate::error::Locale::ZhCn => zh.to_string(),
        crate::error::Locale::En => en.to_string(),
    }
}

fn row_error(row: u32, field: &str, zh: &str, en: &str) -> RosterRowError {
    RosterRowError { row, field: field.into(), message: localized(zh, en) }
}

fn file_error(zh: &str, en: &str) -> RosterRowError {
    row_error(0, "", zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "11010519491231002X";
    const B: &str = "440524188001010014";

    #[test]
    fn csv_with_quotes_bom_and_chinese_headers() {
        let text = format!(
            "\u{feff}姓名,身份证号,专家类型,是否组长\r\n\"张, 三\",{A},技术专家,是\n李四,{B},经济专家,0\n"
        );
        let rows = parse(RosterFormat::Csv, &text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name, "张, 三");
        assert!(rows[0].is_chair && !rows[1].is_chair);
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_is_returned() {
        let text = format!("name,id_number,expert_type\nA,{A},x\nB,11010519491231002Y,x\n,{B},x\nD,{A},x\n");
        let errors = parse(RosterFormat::Csv, &text).unwrap_err();
        let rows: Vec<(u32, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(rows, vec![(2, "idNumber"), (3, "name"), (4, "idNumber")]);
    }

    #[test]
    fn json_wrapped_and_bare() {
        let one = format!(
            r#"{{"experts":[{{"name":"王五","idNumber":"{A}","expertType":"技术","isChair":true}}]}}"#
        );
        assert_eq!(parse(RosterFormat::Json, &one).unwrap().len(), 1);
        let bare = format!(r#"[{{"name":"王五","idNumber":"{A}","expertType":"技术"}}]"#);
        assert!(!parse(RosterFormat::Json, &bare).unwrap()[0].is_chair);
        let missing = r#"[{"name":"王五","expertType":"技术"}]"#;
        assert_eq!(parse(RosterFormat::Json, missing).unwrap_err()[0].row, 1);
        assert_eq!(parse(RosterFormat::Json, "{").unwrap_err()[0].row, 0);
        assert_eq!(parse(RosterFormat::Json, "[]").unwrap_err()[0].row, 0);
    }

    #[test]
    fn unclosed_quote_and_missing_columns() {
        assert!(parse(RosterFormat::Csv, "name,id_number,expert_type\n\"A,1,2\n").is_err());
        assert!(parse(RosterFormat::Csv, "name,type\nA,B\n").unwrap_err()[0].message.len() > 10);
    }
}
