//! The NIBRS offense codes a charge may carry (FBI NIBRS Technical
//! Specification, with the federal-only codes). A charge keeps its state
//! statute text too: NIBRS is the shared vocabulary, not the law.

/// One offense code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offense {
    /// The code as NIBRS writes it (`64A`).
    pub code: &'static str,
    /// Its name.
    pub name: &'static str,
    /// Group A (incident) or B (arrest only).
    pub group: char,
}

const fn o(code: &'static str, name: &'static str, group: char) -> Offense {
    Offense { code, name, group }
}

/// Every offense code.
pub const OFFENSES: &[Offense] = &[
    o("09A", "Murder and Nonnegligent Manslaughter", 'A'),
    o("09B", "Negligent Manslaughter", 'A'),
    o("09C", "Justifiable Homicide", 'A'),
    o("100", "Kidnapping/Abduction", 'A'),
    o("101", "Treason", 'A'),
    o("103", "Espionage", 'A'),
    o("11A", "Rape", 'A'),
    o("11B", "Sodomy", 'A'),
    o("11C", "Sexual Assault With An Object", 'A'),
    o("11D", "Fondling", 'A'),
    o("120", "Robbery", 'A'),
    o("13A", "Aggravated Assault", 'A'),
    o("13B", "Simple Assault", 'A'),
    o("13C", "Intimidation", 'A'),
    o("200", "Arson", 'A'),
    o("210", "Extortion/Blackmail", 'A'),
    o("220", "Burglary/Breaking & Entering", 'A'),
    o("23A", "Pocket-picking", 'A'),
    o("23B", "Purse-snatching", 'A'),
    o("23C", "Shoplifting", 'A'),
    o("23D", "Theft From Building", 'A'),
    o("23E", "Theft From Coin-Operated Machine or Device", 'A'),
    o("23F", "Theft From Motor Vehicle", 'A'),
    o("23G", "Theft of Motor Vehicle Parts or Accessories", 'A'),
    o("23H", "All Other Larceny", 'A'),
    o("240", "Motor Vehicle Theft", 'A'),
    o("250", "Counterfeiting/Forgery", 'A'),
    o("26A", "False Pretenses/Swindle/Confidence Game", 'A'),
    o("26B", "Credit Card/Automated Teller Machine Fraud", 'A'),
    o("26C", "Impersonation", 'A'),
    o("26D", "Welfare Fraud", 'A'),
    o("26E", "Wire Fraud", 'A'),
    o("26F", "Identity Theft", 'A'),
    o("26G", "Hacking/Computer Invasion", 'A'),
    o("26H", "Money Laundering", 'A'),
    o("270", "Embezzlement", 'A'),
    o("280", "Stolen Property Offenses", 'A'),
    o("290", "Destruction/Damage/Vandalism of Property", 'A'),
    o("30A", "Illegal Entry into the United States", 'A'),
    o("30B", "False Citizenship", 'A'),
    o("30C", "Smuggling Aliens", 'A'),
    o("30D", "Re-entry after Deportation", 'A'),
    o("35A", "Drug/Narcotic Violations", 'A'),
    o("35B", "Drug Equipment Violations", 'A'),
    o("360", "Failure to Register as a Sex Offender", 'A'),
    o("36A", "Incest", 'A'),
    o("36B", "Statutory Rape", 'A'),
    o("370", "Pornography/Obscene Material", 'A'),
    o("39A", "Betting/Wagering", 'A'),
    o("39B", "Operating/Promoting/Assisting Gambling", 'A'),
    o("39C", "Gambling Equipment Violations", 'A'),
    o("39D", "Sports Tampering", 'A'),
    o("40A", "Prostitution", 'A'),
    o("40B", "Assisting or Promoting Prostitution", 'A'),
    o("40C", "Purchasing Prostitution", 'A'),
    o("49A", "Harboring Escapee/Concealing from Arrest", 'A'),
    o("49B", "Flight to Avoid Prosecution", 'A'),
    o("49C", "Flight to Avoid Deportation", 'A'),
    o("510", "Bribery", 'A'),
    o("520", "Weapon Law Violations", 'A'),
    o("521", "Violation of National Firearm Act of 1934", 'A'),
    o("522", "Weapons of Mass Destruction", 'A'),
    o("526", "Explosives", 'A'),
    o("58A", "Import Violations", 'A'),
    o("58B", "Export Violations", 'A'),
    o("61A", "Federal Liquor Offenses", 'A'),
    o("61B", "Federal Tobacco Offenses", 'A'),
    o("620", "Wildlife Trafficking", 'A'),
    o("64A", "Human Trafficking, Commercial Sex Acts", 'A'),
    o("64B", "Human Trafficking, Involuntary Servitude", 'A'),
    o("720", "Animal Cruelty", 'A'),
    o("90A", "Bad Checks", 'B'),
    o("90B", "Curfew/Loitering/Vagrancy Violations", 'B'),
    o("90C", "Disorderly Conduct", 'B'),
    o("90D", "Driving Under the Influence", 'B'),
    o("90E", "Drunkenness", 'B'),
    o("90F", "Family Offenses, Nonviolent", 'B'),
    o("90G", "Liquor Law Violations", 'B'),
    o("90H", "Peeping Tom", 'B'),
    o("90J", "Trespass of Real Property", 'B'),
    o("90K", "Bond Default (Failure to Appear)", 'B'),
    o("90L", "Federal Resource Violations", 'B'),
    o("90M", "Perjury", 'B'),
    o("90Z", "All Other Offenses", 'B'),
];

/// The offense with this code (case-insensitive), if NIBRS has one.
pub fn lookup(code: &str) -> Option<&'static Offense> {
    let code = code.trim();
    OFFENSES.iter().find(|o| o.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trafficking_and_prostitution_codes_are_known_and_made_up_ones_are_not() {
        for c in ["64A", "64b", "40A", "40B", "40C", "90Z", " 11D "] {
            assert!(lookup(c).is_some(), "{c}");
        }
        for c in ["64C", "", "40", "999", "64A1"] {
            assert!(lookup(c).is_none(), "{c}");
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        assert!(OFFENSES.iter().all(|o| seen.insert(o.code)));
    }
}
