//! The US map, drawn on the server as SVG: state outlines from the vendored
//! us-atlas file (pre-projected AlbersUSA on a 975×610 canvas, Alaska and
//! Hawaii as insets) and the AlbersUSA projection, with d3-geo's constants,
//! to place points on it. No script, no tiles: it prints and works offline.

use std::fmt::Write as _;
use std::sync::OnceLock;

use serde::Deserialize;

/// The canvas of the pre-projected file.
pub const WIDTH: f64 = 975.0;
/// Its height.
pub const HEIGHT: f64 = 610.0;

static STATES_JSON: &str = include_str!("../assets/vendor/us-atlas/states-albers-10m.json");

/// One state's outline as an SVG path.
#[derive(Debug, Clone)]
pub struct StateShape {
    /// Two-digit FIPS code (`"29"`).
    pub fips: String,
    /// Its name, as in the file.
    pub name: String,
    /// The SVG path data.
    pub path: String,
}

#[derive(Deserialize)]
struct Topology {
    transform: Option<Transform>,
    arcs: Vec<Vec<Vec<f64>>>,
    objects: Objects,
}

#[derive(Deserialize)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct Objects {
    states: Collection,
}

#[derive(Deserialize)]
struct Collection {
    geometries: Vec<Geometry>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    arcs: serde_json::Value,
    id: String,
    properties: Properties,
}

#[derive(Deserialize)]
struct Properties {
    name: String,
}

/// Arcs with their deltas summed and the transform applied.
fn decode_arcs(t: &Topology) -> Vec<Vec<(f64, f64)>> {
    t.arcs
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0.0, 0.0);
            arc.iter()
                .map(|p| {
                    let (dx, dy) = (p.first().copied().unwrap_or(0.0), p.get(1).copied().unwrap_or(0.0));
                    match &t.transform {
                        Some(tr) => {
                            x += dx;
                            y += dy;
                            (x * tr.scale[0] + tr.translate[0], y * tr.scale[1] + tr.translate[1])
                        }
                        None => (dx, dy),
                    }
                })
                .collect()
        })
        .collect()
}

/// A ring (arc indices; a negative index `i` is arc `!i` reversed) as path data.
fn ring(arcs: &[Vec<(f64, f64)>], idx: &[i64], out: &mut String) {
    let mut first = true;
    for &i in idx {
        let (arc, reversed) = if i >= 0 { (i, false) } else { (!i, true) };
        let Some(points) = usize::try_from(arc).ok().and_then(|a| arcs.get(a)) else { continue };
        let mut pts: Vec<(f64, f64)> = points.clone();
        if reversed {
            pts.reverse();
        }
        // Each arc after the first starts where the previous one ended.
        let skip = usize::from(!first);
        for (x, y) in pts.into_iter().skip(skip) {
            let _ = write!(out, "{}{:.1},{:.1}", if first { "M" } else { "L" }, x, y);
            first = false;
        }
    }
    if !first {
        out.push('Z');
    }
}

fn rings_of(v: &serde_json::Value) -> Vec<Vec<i64>> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn parse() -> Vec<StateShape> {
    let Ok(t) = serde_json::from_str::<Topology>(STATES_JSON) else { return Vec::new() };
    let arcs = decode_arcs(&t);
    t.objects
        .states
        .geometries
        .iter()
        .map(|g| {
            let mut path = String::new();
            match g.kind.as_str() {
                "Polygon" => rings_of(&g.arcs).iter().for_each(|r| ring(&arcs, r, &mut path)),
                "MultiPolygon" => {
                    let polys: Vec<serde_json::Value> = serde_json::from_value(g.arcs.clone()).unwrap_or_default();
                    for p in &polys {
                        rings_of(p).iter().for_each(|r| ring(&arcs, r, &mut path));
                    }
                }
                _ => {}
            }
            StateShape { fips: g.id.clone(), name: g.properties.name.clone(), path }
        })
        .collect()
}

/// The 51 state shapes (50 states and DC), parsed once.
pub fn shapes() -> &'static [StateShape] {
    static SHAPES: OnceLock<Vec<StateShape>> = OnceLock::new();
    SHAPES.get_or_init(parse)
}

/// A conic equal-area projection part of AlbersUSA.
struct Conic {
    rotate: f64,
    center: (f64, f64),
    parallels: (f64, f64),
    scale: f64,
    translate: (f64, f64),
    clip: ((f64, f64), (f64, f64)),
}

impl Conic {
    fn raw(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (p0, p1) = (self.parallels.0.to_radians(), self.parallels.1.to_radians());
        let n = (p0.sin() + p1.sin()) / 2.0;
        let c = 1.0 + p0.sin() * (2.0 * n - p0.sin());
        let r0 = c.sqrt() / n;
        let lambda = (lon + self.rotate).to_radians();
        // Longitudes wrap: a point just west of the 180th meridian is next to one just east.
        let lambda = (lambda + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI) - std::f64::consts::PI;
        let r = (c - 2.0 * n * lat.to_radians().sin()).max(0.0).sqrt() / n;
        (r * (n * lambda).sin(), r0 - r * (n * lambda).cos())
    }

    /// `center` is in rotated coordinates, as d3 takes it.
    fn point(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let (x, y) = self.raw(lon, lat);
        let (xc, yc) = self.raw(self.center.0 - self.rotate, self.center.1);
        let px = self.translate.0 + self.scale * (x - xc);
        let py = self.translate.1 - self.scale * (y - yc);
        let ((x0, y0), (x1, y1)) = self.clip;
        (px >= x0 && px <= x1 && py >= y0 && py <= y1).then_some((px, py))
    }
}

/// Where a longitude and latitude fall on the map (d3's `geoAlbersUsa()`
/// at scale 1300, translate (487.5, 305), as the us-atlas file was made);
/// `None` outside the lower 48, Alaska and Hawaii.
pub fn project(lon: f64, lat: f64) -> Option<(f64, f64)> {
    let k = 1300.0;
    let (x, y) = (487.5, 305.0);
    let parts = [
        Conic {
            rotate: 96.0,
            center: (-0.6, 38.7),
            parallels: (29.5, 45.5),
            scale: k,
            translate: (x, y),
            clip: ((x - 0.455 * k, y - 0.238 * k), (x + 0.455 * k, y + 0.238 * k)),
        },
        Conic {
            rotate: 154.0,
            center: (-2.0, 58.5),
            parallels: (55.0, 65.0),
            scale: 0.35 * k,
            translate: (x - 0.307 * k, y + 0.201 * k),
            clip: ((x - 0.425 * k, y + 0.120 * k), (x - 0.214 * k, y + 0.234 * k)),
        },
        Conic {
            rotate: 157.0,
            center: (-3.0, 19.9),
            parallels: (8.0, 18.0),
            scale: k,
            translate: (x - 0.205 * k, y + 0.212 * k),
            clip: ((x - 0.214 * k, y + 0.166 * k), (x - 0.115 * k, y + 0.234 * k)),
        },
    ];
    parts.iter().find_map(|p| p.point(lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_the_fifty_states_and_dc_each_with_an_outline() {
        let s = shapes();
        assert_eq!(s.len(), 51);
        for st in s {
            assert!(st.path.starts_with('M') && st.path.ends_with('Z'), "{}", st.name);
            let known = taskforce_core::states::STATES.iter().find(|u| u.fips == st.fips);
            assert_eq!(known.map(|u| u.name), Some(st.name.as_str()), "FIPS {}", st.fips);
        }
        // Hawaii is several islands; Colorado one ring.
        let hi = s.iter().find(|x| x.name == "Hawaii").map(|x| x.path.matches('M').count());
        assert!(hi.is_some_and(|n| n > 4));
        assert_eq!(s.iter().find(|x| x.name == "Colorado").map(|x| x.path.matches('M').count()), Some(1));
    }

    /// Reference values computed with d3-geo 3.1.2's `geoAlbersUsa().scale(1300).translate([487.5, 305])`.
    #[test]
    fn points_land_where_d3_puts_them() {
        let cases = [
            ("Kansas City", -94.5786, 39.0997, 522.8106771689737, 295.6911567186081),
            ("Anchorage", -149.9003, 61.2181, 112.277427569713, 544.2779162203778),
            ("Honolulu", -157.8583, 21.3069, 266.95994676863154, 549.1903729395863),
            ("New York", -74.006, 40.7128, 869.7187650199265, 215.74052187301095),
            ("Des Moines", -93.6250, 41.5868, 538.0159813510664, 238.44878548454062),
            ("Adak", -176.6581, 51.8800, -12.815544398145875, 600.12900009706),
        ];
        for (name, lon, lat, x, y) in cases {
            let (px, py) = project(lon, lat).unwrap_or_else(|| panic!("{name} not placed"));
            assert!((px - x).abs() < 0.1 && (py - y).abs() < 0.1, "{name}: ({px}, {py}) vs ({x}, {y})");
        }
        assert_eq!(project(-0.1276, 51.5072), None, "London is not on the map");
    }
}
