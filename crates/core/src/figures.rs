//! The count fields (DESIGN §9), the same names in tallies, reports, releases
//! and parser output, and the counters kept per operation × state × agency so
//! an aggregate never scans records.

use serde::{Deserialize, Serialize};

/// The count fields of one row, one source or one total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Arrests.
    pub arrests: u64,
    /// Every person rescued, minors included.
    pub victims: u64,
    /// Of the victims, minors.
    pub minor_victims: u64,
    /// Needing medical care.
    pub needed_medical: u64,
    /// Search warrants executed.
    pub search_warrants: u64,
    /// Businesses identified.
    pub businesses: u64,
    /// Currency seized, known amounts, whole dollars.
    pub currency_usd: u64,
    /// Currency seized with the amount not given: never 0 in disguise.
    pub currency_withheld: bool,
}

/// A count field by name, for flags, sources and suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `arrests`.
    Arrests,
    /// `victims`.
    Victims,
    /// `minor_victims`.
    MinorVictims,
    /// `needed_medical`.
    NeededMedical,
    /// `search_warrants`.
    SearchWarrants,
    /// `businesses`.
    Businesses,
    /// `currency_usd`.
    CurrencyUsd,
}

impl Field {
    /// Every numeric count field, in table order.
    pub const ALL: [Field; 7] = [
        Field::Arrests,
        Field::Victims,
        Field::MinorVictims,
        Field::NeededMedical,
        Field::SearchWarrants,
        Field::Businesses,
        Field::CurrencyUsd,
    ];

    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Field::Arrests => "arrests",
            Field::Victims => "victims",
            Field::MinorVictims => "minor_victims",
            Field::NeededMedical => "needed_medical",
            Field::SearchWarrants => "search_warrants",
            Field::Businesses => "businesses",
            Field::CurrencyUsd => "currency_usd",
        }
    }

    /// How a person reads it ("arrests", "victims needing medical care").
    pub fn label(&self) -> &'static str {
        match self {
            Field::Arrests => "arrests",
            Field::Victims => "victims",
            Field::MinorVictims => "minor victims",
            Field::NeededMedical => "needing medical care",
            Field::SearchWarrants => "search warrants",
            Field::Businesses => "businesses",
            Field::CurrencyUsd => "dollars seized",
        }
    }
}

impl Figures {
    /// The value of a numeric field.
    pub fn get(&self, f: Field) -> u64 {
        match f {
            Field::Arrests => self.arrests,
            Field::Victims => self.victims,
            Field::MinorVictims => self.minor_victims,
            Field::NeededMedical => self.needed_medical,
            Field::SearchWarrants => self.search_warrants,
            Field::Businesses => self.businesses,
            Field::CurrencyUsd => self.currency_usd,
        }
    }

    /// Sets a numeric field.
    pub fn set(&mut self, f: Field, v: u64) {
        match f {
            Field::Arrests => self.arrests = v,
            Field::Victims => self.victims = v,
            Field::MinorVictims => self.minor_victims = v,
            Field::NeededMedical => self.needed_medical = v,
            Field::SearchWarrants => self.search_warrants = v,
            Field::Businesses => self.businesses = v,
            Field::CurrencyUsd => self.currency_usd = v,
        }
    }

    /// Adds another row (saturating: counts are bounded far below overflow).
    pub fn add(&mut self, o: &Figures) {
        for f in Field::ALL {
            self.set(f, self.get(f).saturating_add(o.get(f)));
        }
        self.currency_withheld |= o.currency_withheld;
    }
}

/// Stored counters of current, unvoided records for one operation × state ×
/// agency. Signed, so a correction or void is a delta.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Current records.
    pub records: i64,
    /// Arrest records.
    pub arrests: i64,
    /// Victims rescued.
    pub victims: i64,
    /// Of which minors.
    pub minor_victims: i64,
    /// Victims needing medical care.
    pub needed_medical: i64,
    /// Search warrants executed.
    pub search_warrants: i64,
    /// Businesses identified.
    pub businesses: i64,
    /// Known currency amounts.
    pub currency_usd: i64,
    /// Currency seizures with the amount withheld.
    pub currency_withheld: i64,
    /// Vehicles seized.
    pub vehicles: i64,
    /// Firearms seized.
    pub firearms: i64,
    /// Narcotics seizures.
    pub narcotics: i64,
    /// Devices seized.
    pub devices: i64,
    /// Other seizures.
    pub other_seizures: i64,
}

impl Counters {
    /// Every counter as a slice, in column order (for the store).
    pub fn as_array(&self) -> [i64; 14] {
        [
            self.records,
            self.arrests,
            self.victims,
            self.minor_victims,
            self.needed_medical,
            self.search_warrants,
            self.businesses,
            self.currency_usd,
            self.currency_withheld,
            self.vehicles,
            self.firearms,
            self.narcotics,
            self.devices,
            self.other_seizures,
        ]
    }

    /// The inverse of [`Counters::as_array`].
    pub fn from_array(a: [i64; 14]) -> Self {
        let [
            records,
            arrests,
            victims,
            minor_victims,
            needed_medical,
            search_warrants,
            businesses,
            currency_usd,
            currency_withheld,
            vehicles,
            firearms,
            narcotics,
            devices,
            other_seizures,
        ] = a;
        Counters {
            records,
            arrests,
            victims,
            minor_victims,
            needed_medical,
            search_warrants,
            businesses,
            currency_usd,
            currency_withheld,
            vehicles,
            firearms,
            narcotics,
            devices,
            other_seizures,
        }
    }

    /// `self - other`, field by field.
    pub fn minus(&self, other: &Counters) -> Counters {
        let (a, b) = (self.as_array(), other.as_array());
        Counters::from_array(std::array::from_fn(|i| a[i] - b[i]))
    }

    /// `self + other`, field by field.
    pub fn plus(&self, other: &Counters) -> Counters {
        let (a, b) = (self.as_array(), other.as_array());
        Counters::from_array(std::array::from_fn(|i| a[i] + b[i]))
    }

    /// Whether every counter is zero.
    pub fn is_zero(&self) -> bool {
        self.as_array().iter().all(|v| *v == 0)
    }

    /// The count fields these counters give (negative values, which only a
    /// bug could make, read as 0).
    pub fn figures(&self) -> Figures {
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        Figures {
            arrests: u(self.arrests),
            victims: u(self.victims),
            minor_victims: u(self.minor_victims),
            needed_medical: u(self.needed_medical),
            search_warrants: u(self.search_warrants),
            businesses: u(self.businesses),
            currency_usd: u(self.currency_usd),
            currency_withheld: self.currency_withheld > 0,
        }
    }
}
