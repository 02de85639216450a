// How often each data-quality rule fired in a window, with what a count is and what the rule means
// under the settings in force (a rule the API does not count here, e.g. one machine's duplicates,
// shows "fleet only").
import type { DataQualityRules, RuleCounts } from '../api/types';
import { ruleCount, ruleDescription, RULES } from '../lib/dataQuality';

interface RuleCountsTableProps {
  counts: RuleCounts;
  rules: DataQualityRules;
  label: string;
}

export function RuleCountsTable({ counts, rules, label }: RuleCountsTableProps) {
  return (
    <table className="mini-table rule-counts" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col" className="num">
            Count
          </th>
          <th scope="col">Unit</th>
          <th scope="col">Meaning</th>
        </tr>
      </thead>
      <tbody>
        {RULES.map(({ rule, label: name, unit }) => {
          const count = ruleCount(counts, rule);
          return (
            <tr key={rule} className={count ? 'rule-counts__row--hit' : undefined}>
              <th scope="row">{name}</th>
              <td className="num">
                {count === null ? 'fleet only' : count.toLocaleString('en-US')}
              </td>
              <td className="muted">{unit}</td>
              <td className="muted">{ruleDescription(rule, rules)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
