//! ISO 3166-1 alpha-2 country codes (officially assigned).

const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK \
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM \
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// True for an assigned alpha-2 code (upper case).
pub fn is_assigned(code: &str) -> bool {
    code.len() == 2 && CODES.split(' ').any(|c| c == code)
}

/// The schema of a customer's `country` (`#/components/schemas/Country`):
/// the assigned codes, or `""` for unknown — the same list [`country_rule`] checks.
pub struct Country;

impl utoipa::PartialSchema for Country {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let codes = std::iter::once("").chain(CODES.split(' '));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("An ISO 3166-1 alpha-2 code in upper case, such as `DE`; `\"\"` when unknown"))
            .examples(["DE"])
            .into()
    }
}

impl utoipa::ToSchema for Country {}

/// The validator rule: an assigned code in upper case, or empty (unknown).
pub fn country_rule(code: &str) -> Result<(), validator::ValidationError> {
    if code.is_empty() || is_assigned(code) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("country")
            .with_message("must be an ISO 3166-1 alpha-2 code in upper case, such as DE".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_assigned_codes_only() {
        assert_eq!(super::CODES.split(' ').count(), 249);
        assert!(super::is_assigned("DE"));
        assert!(!super::is_assigned("de"));
        assert!(!super::is_assigned("XX"));
        assert!(!super::is_assigned("DEU"));
    }
}
