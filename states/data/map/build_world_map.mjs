// Builds states/data/world_map.json: one projected, simplified SVG path per UN Member State.
//
// Usage (by hand, when the shapes or the projection should change; never at run time or in CI):
//   cd states/data/map && npm ci && node build_world_map.mjs
// then commit states/data/world_map.json. The Member States come from states/data/member_states.csv.
//
// Licences: shapes from Natural Earth (public domain), packaged as TopoJSON by world-atlas 2.0.2 (ISC);
// topojson-client, topojson-simplify and d3-geo are ISC. Only the generated JSON is used by the project.
//
// Output: {"viewBox": "0 0 W H", "source": "...", "states": {"<M49>": {"d", "cx", "cy", "small"}},
//          "background": {"d"}}
// - Keys are the 3-digit M49 codes; world-atlas ids are ISO 3166-1 numeric, which equal M49 for Member States.
//   Features sharing an id (Australia and Ashmore and Cartier Is.) are merged into one shape.
// - (cx, cy) is the centroid of the State's largest polygon, a place for a label or a marker.
// - "small" is true when the State's projected area is under SMALL_AREA square units: too small to see
//   or click at world scale, so a map draws a marker at (cx, cy) as well.
// - "background" is the land that belongs to no Member State (Greenland, Western Sahara, Kosovo, ...),
//   as one path without borders, to be drawn in a neutral colour. Antarctica is left out.

import fs from "node:fs";
import {fileURLToPath} from "node:url";
import {geoArea, geoEqualEarth, geoPath} from "d3-geo";
import {merge} from "topojson-client";
import {presimplify, quantile, simplify, sphericalTriangleArea} from "topojson-simplify";

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));

const WIDTH = 1000;
const PADDING = 4;
// Share of arc points kept by Visvalingam simplification (spherical triangle area as the weight).
const SIMPLIFY_KEEP = 0.04;
// Square viewBox units (equal-area projection: one unit is about 1,200 km², so 15 is about 18,000 km²).
const SMALL_AREA = 15;
// Islands under this area (square units) are dropped, from the background too.
const MIN_POLYGON_AREA = 0.15;
const ANTARCTICA = "010";
const EARTH_KM2 = 510.07e6;

const topology = JSON.parse(fs.readFileSync(here("./node_modules/world-atlas/countries-10m.json"), "utf8"));
const memberStates = fs
  .readFileSync(here("../member_states.csv"), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => {
    const [iso3, , m49] = line.split(",");
    return {iso3, m49};
  });

const geometries = topology.objects.countries.geometries;
const memberIds = new Set(memberStates.map((s) => s.m49));
const byId = (id) => geometries.filter((g) => g.id === id);
const missing = memberStates.filter((s) => byId(s.m49).length === 0).map((s) => s.iso3);
if (missing.length) throw new Error(`No shape in world-atlas for: ${missing.join(", ")}`);

// A few rings in the source (three Maldives islets) wind the wrong way, which on the sphere means
// "everything but the islet": turn those around instead of letting them flood the map.
const oriented = (coordinates) => {
  const polygon = {type: "Polygon", coordinates};
  if (geoArea(polygon) <= 2 * Math.PI) return polygon;
  return {type: "Polygon", coordinates: coordinates.map((ring) => [...ring].reverse())};
};
// Features that share an id are merged into one MultiPolygon.
const polygonsOf = (topo, members) => merge(topo, members).coordinates.map(oriented);
const multiPolygon = (polygons) => ({type: "MultiPolygon", coordinates: polygons.map((p) => p.coordinates)});

const landWithoutAntarctica = multiPolygon(
  polygonsOf(
    topology,
    geometries.filter((g) => g.id !== ANTARCTICA),
  ),
);
const projection = geoEqualEarth().fitWidth(WIDTH - 2 * PADDING, landWithoutAntarctica);
const [[, top], [, bottom]] = geoPath(projection).bounds(landWithoutAntarctica);
const [tx, ty] = projection.translate();
projection.translate([tx + PADDING, ty - top + PADDING]);
const HEIGHT = Math.ceil(bottom - top + 2 * PADDING);

const path = geoPath(projection).digits(1);
const round = (x) => Math.round(x * 10) / 10;
const areaOf = (polygons) => polygons.reduce((sum, p) => sum + path.area(p), 0);

const exactArea = Object.fromEntries(memberStates.map((s) => [s.m49, areaOf(polygonsOf(topology, byId(s.m49)))]));
const isSmall = (m49) => exactArea[m49] < SMALL_AREA;

// Small States keep every point of their arcs: simplification would shrink atolls to nothing.
// Their neighbours share the same arcs, so borders still meet exactly.
const simplified = (() => {
  const weighted = presimplify(topology, sphericalTriangleArea);
  const minWeight = quantile(weighted, SIMPLIFY_KEEP);
  const arcsOf = (arcs) => (Array.isArray(arcs) ? arcs.flatMap(arcsOf) : [arcs < 0 ? ~arcs : arcs]);
  for (const g of geometries.filter((g) => isSmall(g.id))) {
    for (const i of arcsOf(g.arcs)) for (const point of weighted.arcs[i]) point[2] = Infinity;
  }
  return simplify(weighted, minWeight);
})();

function stateShape(m49) {
  const polygons = polygonsOf(simplified, byId(m49));
  if (areaOf(polygons) < 0.8 * exactArea[m49]) {
    throw new Error(`${m49} lost a fifth of its area in simplification: raise SIMPLIFY_KEEP or SMALL_AREA`);
  }
  const sized = polygons.map((p) => ({p, area: path.area(p)})).sort((a, b) => b.area - a.area);
  // The largest polygon always stays, so that every State has a shape.
  const kept = sized.filter((s, i) => i === 0 || s.area >= MIN_POLYGON_AREA).map((s) => s.p);
  const [cx, cy] = path.centroid(sized[0].p);
  return {d: path(multiPolygon(kept)), cx: round(cx), cy: round(cy), small: isSmall(m49)};
}

const states = Object.fromEntries(memberStates.map(({m49}) => [m49, stateShape(m49)]));

const others = geometries.filter((g) => !memberIds.has(g.id) && g.id !== ANTARCTICA);
const background = polygonsOf(simplified, others).filter((p) => path.area(p) >= MIN_POLYGON_AREA);

const output = {
  viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
  source:
    "Natural Earth 1:10m Admin 0 countries (public domain) via world-atlas 2.0.2 (ISC); " +
    "Equal Earth projection, simplified; generated by states/data/map/build_world_map.mjs",
  states,
  background: {d: path(multiPolygon(background))},
};
const target = here("../world_map.json");
fs.writeFileSync(target, JSON.stringify(output) + "\n");

const small = Object.values(states).filter((s) => s.small).length;
console.log(
  `${target}: ${Object.keys(states).length} States (${small} small), viewBox ${output.viewBox}, ` +
    `${Math.round(EARTH_KM2 / path.area({type: "Sphere"}))} km² per square unit, ${fs.statSync(target).size} bytes`,
);
