//! The demo operation, "Operation United Front" (2021): the data only. The
//! loader is [`App::load_demo`](crate::service::App::load_demo).
//!
//! Real agencies appear by name as the public record lists them; every
//! invented agency, contact and phone number is marked as demo. Phone numbers
//! use the 555-01xx range reserved for fiction.

use crate::agency::AgencyInput;
use crate::operation::{OperationInput, OperationStateInput};

/// The demo operation's code.
pub const CODE: &str = "united-front-2021";

/// One demo agency: input plus its role in the operation (`None`: not in it).
#[derive(Debug, Clone)]
pub struct DemoAgency {
    /// The agency.
    pub input: AgencyInput,
    /// `lead`, `participant`, `support`, or none.
    pub role: Option<&'static str>,
}

/// One demo user.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// The role; the username is `<role>.<agency short name>`.
    pub role: &'static str,
    /// Agency short name.
    pub agency: &'static str,
    /// Unit, if any.
    pub unit: Option<&'static str>,
}

fn agency(n: usize, name: &str, short: &str, kind: &str, state: &str, role: Option<&'static str>) -> DemoAgency {
    DemoAgency {
        input: AgencyInput {
            name: name.to_string(),
            short_name: short.to_string(),
            kind: kind.to_string(),
            home_state: format!("US-{state}"),
            ori: None,
            duty_contact_name: Some("Duty desk (demo contact)".to_string()),
            duty_phone: format!("+1 202 555 01{:02}", n % 100),
        },
        role,
    }
}

/// The twelve states, Missouri first.
pub const STATES: [&str; 12] = ["MO", "IL", "IA", "KY", "MN", "NE", "ND", "OK", "TN", "TX", "WI", "SD"];

/// Every demo agency.
pub fn agencies() -> Vec<DemoAgency> {
    let mut v = vec![
        agency(0, "Missouri Attorney General's Office", "mo-ago", "prosecutor", "MO", Some("lead")),
        agency(1, "Missouri State Highway Patrol", "mshp", "state", "MO", Some("lead")),
        agency(2, "Federal Partner Field Office (demo)", "fed-demo", "federal", "MO", Some("support")),
    ];
    let iowa = [
        ("Iowa Department of Public Safety", "ia-dps", "state"),
        ("Ankeny Police Department", "ankeny-pd", "municipal"),
        ("Clive Police Department", "clive-pd", "municipal"),
        ("Dallas County Sheriff's Office", "dallas-so", "county"),
        ("Des Moines Police Department", "dsm-pd", "municipal"),
        ("Jasper County Sheriff's Office", "jasper-so", "county"),
        ("Polk County Sheriff's Office", "polk-so", "county"),
        ("Urbandale Police Department", "urbandale-pd", "municipal"),
        ("Walcott Police Department", "walcott-pd", "municipal"),
        ("West Des Moines Police Department", "wdm-pd", "municipal"),
        ("Mid-Iowa Narcotics Enforcement Task Force", "mine-tf", "task_force"),
    ];
    for (i, (name, short, kind)) in iowa.iter().enumerate() {
        v.push(agency(10 + i, name, short, kind, "IA", Some("participant")));
    }
    for (i, st) in STATES.iter().filter(|s| !matches!(**s, "MO" | "IA")).enumerate() {
        let name = crate::states::StateCode::from_usps(st).map_or(*st, |s| s.name());
        v.push(agency(
            30 + i,
            &format!("{name} Partner Agency (demo)"),
            &format!("{}-demo", st.to_ascii_lowercase()),
            "state",
            st,
            Some("participant"),
        ));
    }
    v.push(agency(50, "Kansas Agency, not in the operation (demo)", "ks-demo", "state", "KS", None));
    v
}

/// Whether `username` is one of the demo's own users (`<role>.<agency>`).
pub fn is_demo_username(username: &str) -> bool {
    USERS.iter().any(|u| username.split_once('.') == Some((u.role, u.agency)))
}

/// Every demo user.
pub const USERS: &[DemoUser] = &[
    DemoUser { role: "admin", agency: "mo-ago", unit: None },
    DemoUser { role: "commander", agency: "mo-ago", unit: None },
    DemoUser { role: "coordinator", agency: "mo-ago", unit: None },
    DemoUser { role: "officer", agency: "mo-ago", unit: Some("Human Trafficking Unit") },
    DemoUser { role: "analyst", agency: "mo-ago", unit: Some("Human Trafficking Unit") },
    DemoUser { role: "pio", agency: "mo-ago", unit: None },
    DemoUser { role: "advocate", agency: "mo-ago", unit: Some("Victim Services") },
    DemoUser { role: "commander", agency: "mshp", unit: None },
    DemoUser { role: "coordinator", agency: "mshp", unit: None },
    DemoUser { role: "officer", agency: "mshp", unit: Some("Troop C") },
    DemoUser { role: "analyst", agency: "mshp", unit: Some("Division of Drug and Crime Control") },
    DemoUser { role: "coordinator", agency: "ia-dps", unit: None },
    DemoUser { role: "officer", agency: "ia-dps", unit: Some("Division of Criminal Investigation") },
    DemoUser { role: "analyst", agency: "ia-dps", unit: Some("Division of Criminal Investigation") },
    DemoUser { role: "coordinator", agency: "dsm-pd", unit: None },
    DemoUser { role: "officer", agency: "dsm-pd", unit: Some("Vice Unit") },
    DemoUser { role: "officer", agency: "polk-so", unit: Some("Patrol Division") },
    DemoUser { role: "coordinator", agency: "ky-demo", unit: None },
    DemoUser { role: "officer", agency: "ky-demo", unit: None },
    DemoUser { role: "analyst", agency: "fed-demo", unit: None },
    DemoUser { role: "officer", agency: "fed-demo", unit: None },
    DemoUser { role: "commander", agency: "ks-demo", unit: None },
    DemoUser { role: "officer", agency: "ks-demo", unit: None },
];

/// The operation: 36 hours from Thursday 2021-08-26 06:00 to Friday
/// 2021-08-27 18:00 Central time; South Dakota's part ran during the Sturgis
/// motorcycle rally, 2021-08-06 to 2021-08-15, Mountain time.
pub fn operation() -> OperationInput {
    let states = STATES
        .iter()
        .map(|s| {
            if *s == "SD" {
                OperationStateInput {
                    state: "US-SD".into(),
                    start: Some("2021-08-06T00:00:00-06:00".into()),
                    end: Some("2021-08-16T00:00:00-06:00".into()),
                    time_zone: Some("America/Denver".into()),
                    note: Some("Run weeks earlier, during the Sturgis motorcycle rally".into()),
                }
            } else {
                OperationStateInput { state: format!("US-{s}"), ..Default::default() }
            }
        })
        .collect();
    OperationInput {
        code: CODE.into(),
        name: "Operation United Front".into(),
        start: "2021-08-26T06:00:00-05:00".into(),
        end: "2021-08-27T18:00:00-05:00".into(),
        time_zone: "America/Chicago".into(),
        states,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agency::NewAgency;
    use crate::operation::NewOperation;

    #[test]
    fn the_demo_data_is_valid() {
        for a in agencies() {
            NewAgency::parse(&a.input).unwrap();
        }
        let op = NewOperation::parse(&operation()).unwrap();
        assert_eq!(op.states.len(), 12);
        assert_eq!((op.window.end - op.window.start).as_hours(), 36);
    }

    #[test]
    fn iowa_has_eleven_agencies_and_every_user_has_one() {
        let all = agencies();
        assert_eq!(all.iter().filter(|a| a.input.home_state == "US-IA").count(), 11);
        for u in USERS {
            assert!(all.iter().any(|a| a.input.short_name == u.agency), "{}", u.agency);
        }
        for r in crate::role::Role::ALL {
            assert!(USERS.iter().any(|u| u.role == r.as_str()), "{r}");
        }
    }
}

/// A demo state tally: the line as phoned in, from the state's coordinating agency.
#[derive(Debug, Clone)]
pub struct DemoTally {
    /// USPS code.
    pub state: &'static str,
    /// The coordinating agency's short name.
    pub agency: &'static str,
    /// The line as phoned or texted in.
    pub line: &'static str,
    /// The counts it gives.
    pub figures: crate::aggregate::Reported,
}

const fn counts(arrests: u64, victims: Option<u64>, minors: Option<u64>, withheld: bool) -> crate::aggregate::Reported {
    crate::aggregate::Reported {
        arrests: Some(arrests),
        victims,
        minor_victims: minors,
        needed_medical: None,
        search_warrants: None,
        businesses: None,
        currency_usd: None,
        currency_withheld: withheld,
    }
}

/// The twelve state tallies of the full release.
pub fn tallies() -> Vec<DemoTally> {
    let t = |state, agency, line, figures| DemoTally { state, agency, line, figures };
    vec![
        t("MO", "mo-ago", "Missouri 2 arrests made 4 victims rescued", counts(2, Some(4), None, false)),
        t("IL", "il-demo", "Illinois 3 arrests made 1 victim rescued", counts(3, Some(1), None, false)),
        t("IA", "ia-dps", "Iowa 11 arrests made large amount of currency seized", counts(11, None, None, true)),
        t(
            "KY",
            "ky-demo",
            "Kentucky 46 arrests made 21 adult victims rescued 2 minor victims rescued",
            counts(46, Some(23), Some(2), false),
        ),
        t("MN", "mn-demo", "Minnesota 3 arrests made 8 victims rescued", counts(3, Some(8), None, false)),
        t("NE", "ne-demo", "Nebraska 7 arrests made", counts(7, None, None, false)),
        t("ND", "nd-demo", "North Dakota 3 arrests made 6 victims rescued", counts(3, Some(6), None, false)),
        t("OK", "ok-demo", "Oklahoma 7 arrests made 1 victim rescued", counts(7, Some(1), None, false)),
        t("TN", "tn-demo", "Tennessee 4 arrests made", counts(4, None, None, false)),
        t("TX", "tx-demo", "Texas 2 arrests made 4 victims rescued", counts(2, Some(4), None, false)),
        t("WI", "wi-demo", "Wisconsin 5 arrests made", counts(5, None, None, false)),
        t(
            "SD",
            "sd-demo",
            "South Dakota 9 arrests made (Sturgis rally: 8 for enticement of a minor online, 1 for attempted commercial sex trafficking of a minor)",
            counts(9, None, None, false),
        ),
    ]
}

/// The table as most outlets printed it: South Dakota's row dropped, and
/// Kentucky's "21 victims ... 2 of the victims as minors" read as a subset.
pub fn outlets_tallies() -> Vec<DemoTally> {
    tallies()
        .into_iter()
        .filter(|t| t.state != "SD")
        .map(|mut t| {
            if t.state == "KY" {
                t.line = "Kentucky 46 arrests made 21 victims rescued 2 of the victims rescued as minors";
                t.figures = counts(46, Some(21), Some(2), false);
            }
            t
        })
        .collect()
}

/// What the leads announced.
pub fn announcement() -> crate::aggregate::AnnouncementInput {
    crate::aggregate::AnnouncementInput {
        arrests: Some(102),
        victims: Some(47),
        needed_medical: Some(41),
        states: Some(12),
        note: Some("Joint announcement of the Attorney General and the Highway Patrol (demo)".into()),
        ..Default::default()
    }
}

/// Iowa's detailed records: 10 search warrants executed, 5 businesses
/// identified and 11 arrests, across its agencies, as `(agency, record)`.
pub fn iowa_records() -> Vec<(&'static str, crate::results::ResultInput)> {
    use crate::results::{ChargeInput, ResultInput};
    let at = |h: u32| format!("2021-08-26T{:02}:30:00-05:00", 18 + h % 6);
    let base = |kind: &str, h: u32| ResultInput {
        kind: kind.into(),
        state: "US-IA".into(),
        occurred_at: at(h),
        ..Default::default()
    };
    let agencies = ["dsm-pd", "polk-so", "wdm-pd", "ankeny-pd", "urbandale-pd", "clive-pd", "ia-dps", "mine-tf"];
    let mut v = Vec::new();
    for i in 0..10u32 {
        v.push((agencies[i as usize % agencies.len()], base("search_warrant", i)));
    }
    let kinds = [
        "illicit_massage_business",
        "illicit_massage_business",
        "illicit_massage_business",
        "hotel_motel",
        "residence",
    ];
    for (i, k) in kinds.iter().enumerate() {
        let mut r = base("business", i as u32);
        r.business_kind = Some((*k).into());
        v.push((agencies[i % 4], r));
    }
    for i in 0..11u32 {
        let mut r = base("arrest", i);
        r.charges = vec![if i < 2 {
            ChargeInput { statute: "Iowa Code 710A.2 (human trafficking)".into(), nibrs: "64A".into() }
        } else if i < 4 {
            ChargeInput { statute: "Iowa Code 725.3 (pandering)".into(), nibrs: "40B".into() }
        } else {
            ChargeInput { statute: "Iowa Code 725.1 (prostitution, purchasing)".into(), nibrs: "40C".into() }
        }];
        v.push((agencies[i as usize % agencies.len()], r));
    }
    v
}

/// A demo event of the operation's night, registered by `agency` (and `unit`).
#[derive(Debug, Clone)]
pub struct DemoEvent {
    /// Registering agency's short name.
    pub agency: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Kind.
    pub kind: crate::events::EventKind,
    /// Where.
    pub lat: f64,
    /// Where.
    pub lon: f64,
    /// Start, local time of the place (RFC 3339).
    pub start: &'static str,
    /// End.
    pub end: &'static str,
    /// Registered at (a late one was registered after it began).
    pub registered: &'static str,
    /// The outcome its conflict with the event before it got, if any.
    pub outcome: Option<(&'static str, &'static str)>,
}

/// The night's plan: Iowa's ten warrants around Des Moines and its suburbs,
/// undercover meets in Kansas City and Louisville, and deliberate overlaps:
/// two units of the Des Moines police (resolved as a joint entry), Polk County
/// beside the narcotics task force's surveillance (delayed), West Des Moines
/// beside an undercover meet of the state's investigators (left open), and a
/// federal surveillance beside the Patrol's meet in Kansas City (open).
pub fn events() -> Vec<DemoEvent> {
    use crate::events::EventKind::*;
    let before = "2021-08-25T15:00:00-05:00";
    let e = |agency, unit, kind, lat, lon, start, end| DemoEvent {
        agency,
        unit,
        kind,
        lat,
        lon,
        start,
        end,
        registered: before,
        outcome: None,
    };
    let mut v = vec![
        e(
            "dsm-pd",
            "Vice Unit",
            SearchWarrant,
            41.5868,
            -93.6250,
            "2021-08-26T19:00:00-05:00",
            "2021-08-26T20:30:00-05:00",
        ),
        DemoEvent {
            outcome: Some(("joint", "one entry team; Vice leads, Narcotics holds the perimeter")),
            ..e(
                "dsm-pd",
                "Narcotics Unit",
                SearchWarrant,
                41.5875,
                -93.6262,
                "2021-08-26T19:30:00-05:00",
                "2021-08-26T21:00:00-05:00",
            )
        },
        e("mine-tf", "", Surveillance, 41.6005, -93.6091, "2021-08-26T18:00:00-05:00", "2021-08-26T23:00:00-05:00"),
        DemoEvent {
            outcome: Some(("delay", "Polk waits until the task force clears the block")),
            ..e(
                "polk-so",
                "Patrol Division",
                SearchWarrant,
                41.6010,
                -93.6100,
                "2021-08-26T20:00:00-05:00",
                "2021-08-26T21:00:00-05:00",
            )
        },
        e(
            "ia-dps",
            "Division of Criminal Investigation",
            UndercoverMeet,
            41.5772,
            -93.7113,
            "2021-08-26T21:00:00-05:00",
            "2021-08-26T22:00:00-05:00",
        ),
        e("wdm-pd", "", SearchWarrant, 41.5776, -93.7120, "2021-08-26T21:30:00-05:00", "2021-08-26T22:30:00-05:00"),
        e("ankeny-pd", "", SearchWarrant, 41.7297, -93.6058, "2021-08-26T19:00:00-05:00", "2021-08-26T20:00:00-05:00"),
        e(
            "urbandale-pd",
            "",
            SearchWarrant,
            41.6267,
            -93.7122,
            "2021-08-26T20:00:00-05:00",
            "2021-08-26T21:00:00-05:00",
        ),
        e("clive-pd", "", SearchWarrant, 41.6033, -93.7241, "2021-08-26T22:00:00-05:00", "2021-08-26T23:00:00-05:00"),
        e("dallas-so", "", SearchWarrant, 41.6840, -94.0474, "2021-08-26T18:30:00-05:00", "2021-08-26T19:30:00-05:00"),
        e(
            "ia-dps",
            "Division of Criminal Investigation",
            SearchWarrant,
            41.5200,
            -93.6000,
            "2021-08-26T23:00:00-05:00",
            "2021-08-27T00:00:00-05:00",
        ),
        e("jasper-so", "", SearchWarrant, 41.6992, -93.0480, "2021-08-26T20:00:00-05:00", "2021-08-26T21:00:00-05:00"),
        e(
            "mshp",
            "Troop A",
            UndercoverMeet,
            39.0997,
            -94.5786,
            "2021-08-26T22:00:00-05:00",
            "2021-08-27T01:00:00-05:00",
        ),
        e("fed-demo", "", Surveillance, 39.1010, -94.5800, "2021-08-26T21:00:00-05:00", "2021-08-27T02:00:00-05:00"),
        e("ky-demo", "", UndercoverMeet, 38.2527, -85.7585, "2021-08-26T21:00:00-04:00", "2021-08-26T23:00:00-04:00"),
    ];
    // One registration came in after its event had begun.
    if let Some(last) = v.last_mut() {
        last.registered = "2021-08-26T21:30:00-04:00";
    }
    v
}

/// A subject of the demo: its agency (short name), unit, and what is entered.
#[derive(Debug, Clone)]
pub struct DemoSubject {
    /// The registering agency's short name.
    pub agency: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// What is entered.
    pub input: crate::service::subjects::SubjectInput,
}

/// The demo's subjects, so that a newcomer sees them match across states:
/// one ad phone entered in Iowa and in Missouri written two ways, one
/// vehicle seen in two states, one name with a typo (both with a date of
/// birth), and a subject that matches nothing.
pub fn subjects() -> Vec<DemoSubject> {
    use crate::subjects::identity::Fields;
    let s = |agency, unit, kind: &str, role: &str, reason: &str, fields: Fields| DemoSubject {
        agency,
        unit,
        input: crate::service::subjects::SubjectInput {
            kind: kind.into(),
            role: role.into(),
            fields,
            reason: reason.into(),
            case_ref: format!("DEMO-{}-{}", agency.to_uppercase(), kind.to_uppercase()),
            notes: "Demo notes: seen only by this agency.".into(),
            ..Default::default()
        },
    };
    let phone = |n: &str| Fields { number: n.into(), ..Fields::default() };
    let plate = |p: &str, st: &str| Fields { plate: p.into(), plate_state: st.into(), ..Fields::default() };
    let person = |g: &str, f: &str, dob: &str| Fields {
        given_name: g.into(),
        family_name: f.into(),
        dob: dob.into(),
        ..Fields::default()
    };
    vec![
        s(
            "dsm-pd",
            "Vice Unit",
            "phone",
            "suspect",
            "Number in escort ads answered by the Des Moines stings",
            phone("(515) 555-0187"),
        ),
        s(
            "mo-ago",
            "Human Trafficking Unit",
            "phone",
            "suspect",
            "Number in a Kansas City ad offering a minor",
            phone("five one five 555 O187"),
        ),
        s(
            "ia-dps",
            "Division of Criminal Investigation",
            "vehicle",
            "suspect",
            "Van moving workers between massage businesses",
            plate("HTF 2021", "US-IA"),
        ),
        s(
            "mshp",
            "Troop A",
            "vehicle",
            "suspect",
            "Van stopped on I-35 with three passengers who gave one address",
            plate("htf-2021", "US-IA"),
        ),
        s(
            "polk-so",
            "",
            "person",
            "suspect",
            "Drives workers to the Des Moines motels",
            person("Marcus", "Delane", "1988-07-14"),
        ),
        s(
            "mshp",
            "Division of Drug and Crime Control",
            "person",
            "suspect",
            "Named by two victims in Kansas City",
            person("Marcus", "Delaine", "1988-07-14"),
        ),
        s(
            "dsm-pd",
            "Vice Unit",
            "handle",
            "decoy",
            "The Vice Unit's own decoy account",
            Fields { platform: "Instagram".into(), handle: "@dsm_candy21".into(), ..Fields::default() },
        ),
    ]
}
