//! 评标专家 — experts on a session's roster: identity numbers and how they are shown.

use crate::error::{Error, Result};

/// GB 11643-1999 weights for the 17 body digits; the check character is `CHECK[sum mod 11]`.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// 公民身份号码 — a checked citizen identity number (18 characters, upper-case X).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// Accepts what a person types or a reader sends: surrounding spaces and a lower-case x are
    /// tolerated because wedge readers and people both produce them; everything else must be exact.
    pub fn parse(raw: &str) -> Result<IdNumber> {
        let text: String = raw.trim().to_uppercase();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 18 {
            return Err(Error::invalid(
                format!("身份证号应为 18 位，输入的是 {} 位。请核对后重新输入或重新刷证。", chars.len()),
                format!(
                    "An ID number has 18 characters; this one has {}. Check it and type or scan it again.",
                    chars.len()
                ),
            ));
        }
        if !chars[..17].iter().all(char::is_ascii_digit) || !(chars[17].is_ascii_digit() || chars[17] == 'X')
        {
            return Err(Error::invalid(
                "身份证号只能由数字组成，最后一位可以是 X。请核对后重新输入。",
                "An ID number is digits only, except that the last character may be X. Check it and type it again.",
            ));
        }
        let expected = check_character(&chars[..17]);
        if chars[17] != expected {
            return Err(Error::invalid(
                "身份证号校验位不正确（最后一位与前 17 位不符），可能输错了一位。请对照证件重新输入或刷证。",
                "The ID number's check character does not match the first 17 digits; one digit is probably \
                 wrong. Compare with the card and type or scan it again.",
            ));
        }
        let birth = &text[6..14];
        if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
            return Err(Error::invalid(
                format!("身份证号中的出生日期 {birth} 不是有效日期。请核对后重新输入。"),
                format!(
                    "The date of birth {birth} in the ID number is not a real date. Check it and type it again."
                ),
            ));
        }
        Ok(IdNumber(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 110105********002X: region and the last four stay, birth date and sequence are hidden.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

/// Appends the GB 11643 check character to 17 digits (for generated test and demo numbers).
pub fn with_check_character(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    (chars.len() == 17 && chars.iter().all(char::is_ascii_digit))
        .then(|| format!("{body}{}", check_character(&chars)))
}

fn check_character(body: &[char]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    CHECK[(sum % 11) as usize]
}

/// A card number as door controllers accept it (ISAPI: at most 20 letters, digits or hyphens).
pub fn parse_card_no(raw: &str) -> Result<String> {
    let card = raw.trim().to_uppercase();
    if card.is_empty() || card.len() > 20 || !card.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid(
            "卡号应为 1–20 位字母、数字或连字符。请重新刷卡或输入；不发卡时留空，以身份证作为门禁凭证。",
            "A card number is 1-20 letters, digits or hyphens. Read or type it again; leave it empty to \
             use the ID card as the credential.",
        ));
    }
    Ok(card)
}

/// Shows only the last four characters of a card number.
pub fn mask_card_no(card: &str) -> String {
    let n = card.chars().count();
    let keep: String = card.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{keep}", "*".repeat(n.saturating_sub(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example number printed in GB 11643-1999 itself.
    const STANDARD_EXAMPLE: &str = "11010519491231002X";

    #[test]
    fn accepts_the_standards_example_and_masks_it() {
        let id = IdNumber::parse(STANDARD_EXAMPLE).unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(IdNumber::parse(" 11010519491231002x ").unwrap(), id);
        assert!(IdNumber::parse("440524188001010014").is_ok());
    }

    #[test]
    fn every_single_digit_change_is_caught() {
        let chars: Vec<char> = STANDARD_EXAMPLE.chars().collect();
        for pos in 0..17 {
            for d in '0'..='9' {
                if d == chars[pos] {
                    continue;
                }
                let mut c = chars.clone();
                c[pos] = d;
                let s: String = c.into_iter().collect();
                // A changed birth date can still be a valid date; the check digit must catch it anyway.
                assert!(IdNumber::parse(&s).is_err(), "{s} accepted");
            }
        }
    }

    #[test]
    fn wrong_length_letters_and_dates_are_refused_with_a_reason() {
        assert!(
            IdNumber::parse("11010519491231002")
                .unwrap_err()
                .message_in(crate::error::Locale::En)
                .contains("17")
        );
        assert!(IdNumber::parse("1101051949123100AX").is_err());
        // 1949-02-30 with a matching check character is still refused.
        let body = "11010519490230002";
        let chars: Vec<char> = body.chars().collect();
        let s = format!("{body}{}", check_character(&chars));
        assert!(IdNumber::parse(&s).unwrap_err().message_in(crate::error::Locale::En).contains("date"));
    }

    #[test]
    fn card_numbers() {
        assert_eq!(parse_card_no(" ab-12 ").unwrap(), "AB-12");
        assert!(parse_card_no("").is_err());
        assert!(parse_card_no("123456789012345678901").is_err());
        assert!(parse_card_no("12 34").is_err());
        assert_eq!(mask_card_no("12345678"), "****5678");
        assert_eq!(mask_card_no("12"), "12");
    }
}
