import { describe, expect, it } from 'vitest';
import { joinArffDimensions, parseArff, readArffDimensions } from '../src/data/arff.ts';
import { readUeaSplit } from '../src/data/load.ts';
import { UeaFormatError } from '../src/data/raw.ts';
import { parseTs } from '../src/data/ts-format.ts';
import { dataRoot, missingReason } from './helpers.ts';

// ---------------------------------------------------------------------------------------
// Real files: every UEA dataset in the shared data root, checked against its README/SOURCE.md.
// ---------------------------------------------------------------------------------------

interface Expect {
  name: string;
  train: number;
  test: number;
  dims: number;
  /** [min, max] length over TRAIN and over TEST. */
  trainLen: [number, number];
  testLen: [number, number];
  classes: string[];
}

const REAL: Expect[] = [
  { name: 'BasicMotions', train: 40, test: 40, dims: 6, trainLen: [100, 100], testLen: [100, 100], classes: ['Standing', 'Running', 'Walking', 'Badminton'] },
  // README: "length 7-29"; the TRAIN maximum is 26, the TEST maximum 29.
  { name: 'JapaneseVowels', train: 270, test: 370, dims: 12, trainLen: [7, 26], testLen: [7, 29], classes: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  { name: 'Handwriting', train: 150, test: 850, dims: 3, trainLen: [152, 152], testLen: [152, 152], classes: Array.from({ length: 26 }, (_, i) => `${i + 1}.0`) },
  { name: 'UWaveGestureLibrary', train: 120, test: 320, dims: 3, trainLen: [315, 315], testLen: [315, 315], classes: Array.from({ length: 8 }, (_, i) => `${i + 1}.0`) },
  { name: 'SelfRegulationSCP1', train: 268, test: 293, dims: 6, trainLen: [896, 896], testLen: [896, 896], classes: ['negativity', 'positivity'] },
];

describe('real UEA files', () => {
  for (const e of REAL) {
    const reason = missingReason(e.name);
    it.skipIf(reason !== null)(`${e.name}: counts, dimensions, lengths, classes${reason ? ` (${reason})` : ''}`, () => {
      for (const [split, n, len] of [
        ['TRAIN', e.train, e.trainLen],
        ['TEST', e.test, e.testLen],
      ] as const) {
        const s = readUeaSplit(dataRoot, e.name, split);
        expect(s.problemName).toBe(e.name);
        expect(s.series.length).toBe(n);
        expect(s.labels.length).toBe(n);
        expect(s.numDims).toBe(e.dims);
        for (const dims of s.series) expect(dims.length).toBe(e.dims);
        const lengths = Array.from(s.lengths);
        expect([Math.min(...lengths), Math.max(...lengths)]).toEqual(len);
        expect(s.declaredClasses).toEqual(e.classes);
        expect(new Set(s.labels)).toEqual(new Set(e.classes)); // every class occurs in both splits
        expect(s.hasMissing).toBe(false);
        for (const dims of s.series) for (const v of dims) expect(v.every(Number.isFinite)).toBe(true);
      }
    });
  }

  const jv = missingReason('JapaneseVowels');
  it.skipIf(jv !== null)(`JapaneseVowels: first case's values as in the file${jv ? ` (${jv})` : ''}`, () => {
    const s = readUeaSplit(dataRoot, 'JapaneseVowels', 'TRAIN');
    // Line 16 of JapaneseVowels_TRAIN.ts starts "1.860936,1.891651,1.939205" and its dimension 2 "-0.207383,-0.193249".
    expect(s.lines[0]).toBe(16);
    expect(Array.from(s.series[0]![0]!.slice(0, 3))).toEqual([1.860936, 1.891651, 1.939205]);
    expect(Array.from(s.series[0]![1]!.slice(0, 2))).toEqual([-0.207383, -0.193249]);
    expect(s.lengths[0]).toBe(20);
    expect(s.labels[0]).toBe('1');
  });

  const scp = missingReason('SelfRegulationSCP1');
  it.skipIf(scp !== null)(`SelfRegulationSCP1: ARFF dimensions joined row by row${scp ? ` (${scp})` : ''}`, () => {
    const s = readArffDimensions(`${dataRoot}/uea/SelfRegulationSCP1`, 'SelfRegulationSCP1', 'TRAIN');
    // Dimension1_TRAIN.arff: 896 '@attribute channel_0_<t> numeric' lines, the class, '@data' on
    // line 901, the first row on line 902 starting "23,21.66,20.84".
    expect(s.lines[0]).toBe(902);
    expect(Array.from(s.series[0]![0]!.slice(0, 3))).toEqual([23, 21.66, 20.84]);
    expect(s.series[0]!.length).toBe(6);
    const counts = new Map<string, number>();
    for (const l of s.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b)).toBe(268);
  });
});

// ---------------------------------------------------------------------------------------
// Generated files: valid corner cases and malformed ones, so parser tests never skip.
// ---------------------------------------------------------------------------------------

const TS_HEADER = `# a comment
@problemName Tiny
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true b a 10 2
@data
`;

function tsError(text: string): UeaFormatError {
  try {
    parseTs(text, 'Tiny_TRAIN.ts');
  } catch (e) {
    expect(e).toBeInstanceOf(UeaFormatError);
    return e as UeaFormatError;
  }
  throw new Error('expected a UeaFormatError');
}

describe('.ts parser on generated files', () => {
  it('reads unequal lengths, missing values, comments, CRLF and case-insensitive tags', () => {
    const text = (TS_HEADER + '1,2,3:4,5,6:a\n\n# interleaved comment\n7,?:8,9:10\r\n0.5,-1e-3,2E2,?:1,1,1,1:2\n').replace('@dimensions', '@DIMENSIONS');
    const s = parseTs(text, 'Tiny_TRAIN.ts');
    expect(s.problemName).toBe('Tiny');
    expect(s.numDims).toBe(2);
    expect(Array.from(s.lengths)).toEqual([3, 2, 4]);
    expect(s.labels).toEqual(['a', '10', '2']);
    expect(s.declaredClasses).toEqual(['b', 'a', '10', '2']);
    expect(Array.from(s.lines)).toEqual([10, 13, 14]);
    expect(s.hasMissing).toBe(true);
    expect(Number.isNaN(s.series[1]![0]![1]!)).toBe(true);
    expect(Array.from(s.series[2]![0]!.slice(0, 3))).toEqual([0.5, -0.001, 200]);
  });

  it('infers the dimension count from the first case when @dimensions is absent', () => {
    const s = parseTs('@problemName X\n@classLabel true x\n@data\n1,2:3,4:5,6:x\n', 'X.ts');
    expect(s.numDims).toBe(3);
    const e = tsError('@problemName X\n@classLabel true x\n@data\n1,2:3,4:5,6:x\n1,2:3,4:x\n');
    expect(e.message).toBe('Tiny_TRAIN.ts:5: expected 3 dimensions before the label (as in the first case), found 2');
  });

  const cases: [string, string, RegExp][] = [
    ['wrong dimension count', TS_HEADER + '1,2:3,4:5,6:a\n', /^Tiny_TRAIN\.ts:10: expected 2 dimensions before the label \(from @dimensions\), found 3$/],
    ['a value that is not a number', TS_HEADER + '1,2:3,x4:a\n', /^Tiny_TRAIN\.ts:10: dimension 2, value 2: expected a number or '\?', found "x4"$/],
    ['an undeclared label', TS_HEADER + '1,2:3,4:c\n', /^Tiny_TRAIN\.ts:10: class label "c" is not declared in @classLabel \(b a 10 2\)$/],
    ['no label separator', TS_HEADER + '1,2,3\n', /^Tiny_TRAIN\.ts:10: expected '<values>:\.\.\.:<values>:<label>'/],
    ['dimensions of different lengths in one case', TS_HEADER + '1,2:3:a\n', /^Tiny_TRAIN\.ts:10: dimension 2 has 1 values but dimension 1 has 2; all dimensions of a case must have the same length$/],
    ['an empty dimension', TS_HEADER + '1,2::a\n', /^Tiny_TRAIN\.ts:10: dimension 2 is empty/],
    ['an empty value', TS_HEADER + '1,,2:3,4,5:a\n', /^Tiny_TRAIN\.ts:10: dimension 1, value 2: expected a number or '\?', found ""$/],
    ['infinity', TS_HEADER + '1,Infinity:3,4:a\n', /^Tiny_TRAIN\.ts:10: dimension 1, value 2: expected a number/],
    ['a missing value although @missing false', TS_HEADER.replace('@missing true', '@missing false') + '1,?:3,4:a\n', /^Tiny_TRAIN\.ts:10: dimension 1, value 2: missing value "\?" but the header says '@missing false'$/],
    ['a length that breaks @equalLength/@seriesLength', TS_HEADER.replace('@equalLength false', '@equalLength true\n@seriesLength 2') + '1,2:3,4:a\n1,2,3:3,4,5:a\n', /^Tiny_TRAIN\.ts:12: series length 3, but the header says '@equalLength true' and '@seriesLength 2'$/],
    ['timestamped data', TS_HEADER.replace('@timeStamps false', '@timeStamps true'), /^Tiny_TRAIN\.ts:3: timestamped series \(@timeStamps true.*not supported/],
    ['timestamp syntax without the tag', TS_HEADER + '(0,1),(1,2):(0,3),(1,4):a\n', /^Tiny_TRAIN\.ts:10: found '\(' : this looks like timestamped data/],
    ['no @data line', '@problemName X\n@classLabel true a\n', /^Tiny_TRAIN\.ts: no '@data' line/],
    ['no cases', TS_HEADER, /^Tiny_TRAIN\.ts:9: no cases after @data/],
    ['no @classLabel', '@problemName X\n@data\n1:a\n', /^Tiny_TRAIN\.ts:2: expected '@classLabel true <label> \.\.\.' before @data$/],
    ['@classLabel false', '@problemName X\n@classLabel false\n@data\n', /^Tiny_TRAIN\.ts:2: '@classLabel false': this file has no class labels/],
    ['an unknown tag', '@problemName X\n@colour blue\n', /^Tiny_TRAIN\.ts:2: unknown header tag "@colour"; expected one of @problemName/],
    ['a duplicate tag', '@problemName X\n@problemName Y\n', /^Tiny_TRAIN\.ts:2: duplicate header tag @problemName$/],
    ['a bad boolean', '@missing maybe\n', /^Tiny_TRAIN\.ts:1: expected '@missing true' or '@missing false', found "maybe"$/],
    ['a bad count', '@dimensions 0\n', /^Tiny_TRAIN\.ts:1: expected '@dimensions <positive integer>', found "0"$/],
    ['text before @data', 'hello\n', /^Tiny_TRAIN\.ts:1: expected a header tag \(.*\) or a '#' comment before @data, found "hello"$/],
    ['a tag after @data', TS_HEADER + '1,2:3,4:a\n@data\n', /^Tiny_TRAIN\.ts:11: header tag "@data" after @data/],
    ['a regression file', '@problemName X\n@targetLabel true\n', /^Tiny_TRAIN\.ts:2: '@targetLabel' marks a regression file/],
    ['univariate with several dimensions', '@univariate true\n@dimensions 3\n@classLabel true a\n@data\n', /^Tiny_TRAIN\.ts:4: header says '@univariate true' but '@dimensions 3'$/],
  ];
  for (const [what, text, re] of cases) {
    it(`rejects ${what}, naming file and line`, () => {
      expect(tsError(text).message).toMatch(re);
    });
  }
});

function arff(relation: string, rows: string[], length = 3, classes = '{neg,pos}'): string {
  const attrs = Array.from({ length }, (_, t) => `@attribute t${t} numeric`).join('\n');
  return `% comment\n@relation ${relation}\n\n${attrs}\n@attribute 'the class' ${classes}\n\n@data\n${rows.join('\n')}\n`;
}

describe('per-dimension ARFF parser on generated files', () => {
  it('parses and joins dimensions row by row', () => {
    const d1 = parseArff(arff('Toy_channel_0', ['1,2,3,neg', '4,?,6,pos']), 'ToyDimension1_TRAIN.arff');
    const d2 = parseArff(arff('Toy_channel_1', ['7,8,9,neg', "10,11,12,'pos'"]), 'ToyDimension2_TRAIN.arff');
    expect(d1.length).toBe(3);
    expect(d1.classes).toEqual(['neg', 'pos']);
    expect(d1.lines).toEqual([10, 11]); // comment, relation, blank, 3 + 1 attributes, blank, @data
    const s = joinArffDimensions([d1, d2]);
    expect(s.problemName).toBe('Toy');
    expect(s.numDims).toBe(2);
    expect(s.labels).toEqual(['neg', 'pos']);
    expect(Array.from(s.series[1]![1]!)).toEqual([10, 11, 12]);
    expect(Number.isNaN(s.series[1]![0]![1]!)).toBe(true);
    expect(s.hasMissing).toBe(true);
    expect(Array.from(s.lengths)).toEqual([3, 3]);
  });

  const bad: [string, string, RegExp][] = [
    ['too few fields', arff('T', ['1,2,neg']), /^X\.arff:10: expected 3 numeric values and the class \(4 comma-separated fields, from the @attribute lines\), found 3$/],
    ['a non-numeric value', arff('T', ['1,abc,3,neg']), /^X\.arff:10: value 2: expected a number or '\?', found "abc"$/],
    ['an undeclared class', arff('T', ['1,2,3,maybe']), /^X\.arff:10: class "maybe" is not one of the declared values \{neg,pos\}$/],
    ['no class attribute', '@relation T\n@attribute a numeric\n@data\n1\n', /^X\.arff:3: no nominal class attribute/],
    ['an attribute after the class', '@relation T\n@attribute c {a,b}\n@attribute a numeric\n@data\n', /^X\.arff:3: attribute "a" comes after the nominal class attribute \(line 2\)/],
    ['a string attribute', '@relation T\n@attribute a string\n', /^X\.arff:2: attribute "a" has type "string"; expected 'numeric'/],
    ['the relational multivariate form', "@relation T\n@attribute series relational\n", /^X\.arff:2: relational attribute: this is the archive's multivariate ARFF form, which is not supported/],
    ['sparse rows', arff('T', ['{0 1, 3 neg}']), /^X\.arff:10: sparse ARFF rows/],
    ['no @data', '@relation T\n@attribute c {a}\n', /^X\.arff: no '@data' line/],
    ['no rows', arff('T', []), /^X\.arff:9: no rows after @data$/],
  ];
  for (const [what, text, re] of bad) {
    it(`rejects ${what}, naming file and line`, () => {
      expect(() => parseArff(text, 'X.arff')).toThrow(re);
    });
  }

  it('rejects dimension files whose labels disagree, naming both files and the row', () => {
    const d1 = parseArff(arff('T', ['1,2,3,neg', '4,5,6,pos']), 'TDimension1_TRAIN.arff');
    const d2 = parseArff(arff('T', ['1,2,3,neg', '4,5,6,neg']), 'TDimension2_TRAIN.arff');
    expect(() => joinArffDimensions([d1, d2])).toThrow(
      /^TDimension2_TRAIN\.arff:11: row 2 has class "neg" but row 2 of TDimension1_TRAIN\.arff \(line 11\) has "pos"; the dimension files must list the same cases in the same order$/,
    );
  });

  it('rejects dimension files with different row counts or lengths', () => {
    const d1 = parseArff(arff('T', ['1,2,3,neg', '4,5,6,pos']), 'TDimension1_TRAIN.arff');
    const d2 = parseArff(arff('T', ['1,2,3,neg']), 'TDimension2_TRAIN.arff');
    const d3 = parseArff(arff('T', ['1,2,neg', '4,5,pos'], 2), 'TDimension3_TRAIN.arff');
    expect(() => joinArffDimensions([d1, d2])).toThrow(/^TDimension2_TRAIN\.arff: has 1 rows but TDimension1_TRAIN\.arff has 2/);
    expect(() => joinArffDimensions([d1, d3])).toThrow(/^TDimension3_TRAIN\.arff: has 2 numeric attributes \(time steps\) but TDimension1_TRAIN\.arff has 3$/);
  });
});

describe('locating a dataset', () => {
  it('says where it looked and how to download', () => {
    expect(() => readUeaSplit('/nonexistent-root', 'Heartbeat', 'TRAIN')).toThrow(
      /found neither \/nonexistent-root\/uea\/Heartbeat\/Heartbeat_TRAIN\.ts nor \/nonexistent-root\/uea\/Heartbeat\/HeartbeatDimension1_TRAIN\.arff\. Fetch it with 'flowformer data download --task uea --dataset Heartbeat'/,
    );
  });
});
