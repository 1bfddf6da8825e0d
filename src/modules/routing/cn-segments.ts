// Mainland China mobile number segments (号段) and the carrier that serves each.
//
// Source: the MIIT numbering plan as summarised by Wikipedia, "中国内地移动终端通讯号段"
// (zh.wikipedia.org, the revision of 2024-06), cross-checked against the carriers' published
// segment lists; compiled 2026-11-30. Segments change rarely (a new one every year or two): edit
// this table, with its date, when MIIT assigns one. Numbers ported to another carrier (携号转网)
// keep their segment; the operator records them in `number_carriers` (hongyan route port).
//
// Keys are prefixes of the 11-digit national number; the longest matching prefix wins, so the
// 4- and 5-digit exceptions (1349 satellite inside China Mobile's 134, the virtual operators'
// 1700-1709 split over three host networks, 1740x satellite and emergency) sit beside their
// 3-digit segment. `mvno`: a virtual operator's number (虚拟运营商), carried on its host network.

export const CN_SEGMENTS_SOURCE = {
  source: 'MIIT numbering plan, via zh.wikipedia.org 中国内地移动终端通讯号段 (2024-06 revision)',
  compiled: '2026-11-30',
} as const;

export type DomesticCarrier = 'cmcc' | 'cucc' | 'ctcc' | 'cbn' | 'satellite';

export interface SegmentEntry {
  carrier: DomesticCarrier;
  mvno?: true;
}

const cmcc: SegmentEntry = { carrier: 'cmcc' };
const cucc: SegmentEntry = { carrier: 'cucc' };
const ctcc: SegmentEntry = { carrier: 'ctcc' };
const cmccMvno: SegmentEntry = { carrier: 'cmcc', mvno: true };
const cuccMvno: SegmentEntry = { carrier: 'cucc', mvno: true };
const ctccMvno: SegmentEntry = { carrier: 'ctcc', mvno: true };
const satellite: SegmentEntry = { carrier: 'satellite' };

const each = (prefixes: string[], entry: SegmentEntry) => prefixes.map((p) => [p, entry] as const);

export const CN_SEGMENTS: ReadonlyMap<string, SegmentEntry> = new Map<string, SegmentEntry>([
  // China Mobile (中国移动). 1340-1348 are mobile; 1349 is satellite (below). 1440 and 148 are
  // its IoT / data-card segments.
  ...each(['134', '135', '136', '137', '138', '139', '147', '148', '150', '151', '152', '157'], cmcc),
  ...each(['158', '159', '172', '178', '182', '183', '184', '187', '188', '195', '197', '198'], cmcc),
  ...each(['1440'], cmcc),
  // China Unicom (中国联通). 146 and 1400 are IoT segments.
  ...each(['130', '131', '132', '145', '146', '155', '156', '166', '175', '176', '185', '186', '196'], cucc),
  ...each(['1400'], cucc),
  // China Telecom (中国电信). 1410 is IoT.
  ...each(['133', '149', '153', '173', '177', '180', '181', '189', '190', '191', '193', '199'], ctcc),
  ...each(['1410'], ctcc),
  // China Broadnet (中国广电), 192.
  ['192', { carrier: 'cbn' }],
  // Virtual operators: 170 is split by its 4th digit over the three hosts; 171 and 167 ride on
  // China Unicom, 165 on China Mobile, 162 on China Telecom.
  ...each(['1700', '1701', '1702'], ctccMvno),
  ...each(['1703', '1705', '1706'], cmccMvno),
  ...each(['1704', '1707', '1708', '1709'], cuccMvno),
  ['171', cuccMvno],
  ['167', cuccMvno],
  ['165', cmccMvno],
  ['162', ctccMvno],
  // Satellite: 1349 (中国卫通, inside China Mobile's 134) and 17400-17405 (天通 satellite, China
  // Telecom Satellite); 17406-17412 are MIIT's emergency-communication numbers, satellite-borne too.
  ['1349', satellite],
  ...each(['17400', '17401', '17402', '17403', '17404', '17405'], satellite),
  ...each(['17406', '17407', '17408', '17409', '17410', '17411', '17412'], satellite),
]);

/** The longest segment prefix, in digits: lookups try 5, 4 then 3 digits. */
export const LONGEST_SEGMENT = 5;
