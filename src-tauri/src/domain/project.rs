//! 交易项目 — trading projects: the codes the national data spec names, and their checks.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// 交易分类 — the trading category of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TradingCategory {
    /// 工程建设
    Construction,
    /// 政府采购
    GovernmentProcurement,
    /// 土地使用权
    LandUseRights,
    /// 矿业权
    MiningRights,
    /// 国有产权
    StateOwnedProperty,
    /// 其他
    Other,
}

impl TradingCategory {
    pub const ALL: [TradingCategory; 6] = [
        TradingCategory::Construction,
        TradingCategory::GovernmentProcurement,
        TradingCategory::LandUseRights,
        TradingCategory::MiningRights,
        TradingCategory::StateOwnedProperty,
        TradingCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Construction => "construction",
            Self::GovernmentProcurement => "government_procurement",
            Self::LandUseRights => "land_use_rights",
            Self::MiningRights => "mining_rights",
            Self::StateOwnedProperty => "state_owned_property",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// GB 32100-2015 character set: digits and upper-case letters without I, O, Z, S, V.
const CREDIT_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// 统一社会信用代码 — checks the 18-character code and its GB 32100 check character. `field`
/// names the form field in the message.
pub fn validate_credit_code(code: &str, field: &str) -> Result<String> {
    let code = code.trim().to_ascii_uppercase();
    let values: Option<Vec<u32>> = code.chars().map(|c| CREDIT_CHARS.find(c).map(|i| i as u32)).collect();
    let Some(values) = values.filter(|v| v.len() == 18) else {
        return Err(Error::invalid(
            format!("{field}：统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）。"),
            format!(
                "{field}: a unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)."
            ),
        ));
    };
    let sum: u32 = values.iter().zip(CREDIT_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        let expected = CREDIT_CHARS.as_bytes()[check as usize] as char;
        return Err(Error::invalid(
            format!("{field}：统一社会信用代码校验位不符（按前 17 位应为 {expected}），请核对是否抄错。"),
            format!(
                "{field}: the check character does not match (the first 17 give {expected}); check for a typo."
            ),
        ));
    }
    Ok(code)
}

/// 招标项目编号 — formats differ by province, so any code of letters, digits and `-_/.()` is
/// accepted; one that does not look like the common pattern (a letter prefix or region code,
/// then digits, 10–40 characters) is flagged for a person to look at, never refused.
pub fn validate_project_code(code: &str) -> Result<(String, bool)> {
    let code = code.trim().to_string();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_/.()（）".contains(c);
    if code.is_empty() || code.chars().count() > 64 || !code.chars().all(allowed) {
        return Err(Error::invalid(
            "招标项目编号须为 1–64 位字母、数字或 - _ / . ( )。",
            "The tender project code must be 1–64 letters, digits or - _ / . ( ).",
        ));
    }
    let digits = code.chars().filter(char::is_ascii_digit).count();
    let usual = (10..=40).contains(&code.len()) && digits >= 6;
    Ok((code, !usual))
}

/// 标段（包）编号 — each code once, none empty.
pub fn validate_section_codes(codes: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(codes.len());
    for c in codes {
        let c = c.trim();
        if c.is_empty() || c.chars().count() > 64 {
            return Err(Error::invalid(
                "标段（包）编号不能为空，且不超过 64 个字符。",
                "A bid section code must be 1–64 characters.",
            ));
        }
        if out.iter().any(|o| o == c) {
            return Err(Error::invalid(
                format!("标段（包）编号 “{c}” 重复。"),
                format!("Bid section code \"{c}\" appears twice."),
            ));
        }
        out.push(c.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_are_checked_by_their_check_character() {
        assert_eq!(validate_credit_code("91350100m000100y43", "tenderer").unwrap(), "91350100M000100Y43");
        let wrong = validate_credit_code("91350100M000100Y44", "tenderer").unwrap_err();
        assert!(wrong.message_in(crate::error::Locale::En).contains("give 3"), "{wrong}");
        assert!(validate_credit_code("91350100M000100Y4", "x").is_err());
        assert!(validate_credit_code("91350100M00010OY43", "x").is_err(), "O is not in the alphabet");
    }

    #[test]
    fn unusual_project_codes_are_flagged_not_refused() {
        assert_eq!(
            validate_project_code("E3101000001202611001").unwrap(),
            ("E3101000001202611001".into(), false)
        );
        assert_eq!(validate_project_code("ZB-7").unwrap(), ("ZB-7".into(), true));
        assert!(validate_project_code("编号1").is_err());
        assert!(validate_project_code("").is_err());
    }

    #[test]
    fn section_codes_are_unique() {
        assert!(validate_section_codes(&["001".into(), "002".into()]).is_ok());
        assert!(validate_section_codes(&["001".into(), "001".into()]).is_err());
    }
}
