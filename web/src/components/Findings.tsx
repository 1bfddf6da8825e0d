// The rules engine's findings on a text: blocking ones in red, warnings in orange. Each reads in
// the console's language by its rule (the finding codes of src/modules/compliance/rules/); a rule
// the dictionaries do not know yet shows the server's message.
import { Alert, Tag } from 'antd';
import { useI18n } from '../i18n/i18n.tsx';
import { lookup } from '../i18n/lang.ts';

export interface Finding {
  rule?: string;
  severity?: string;
  text?: string;
  message?: string;
}

export function Findings({ findings, blocked }: { findings: Finding[]; blocked?: boolean }) {
  const { t, tr } = useI18n();
  const explain = (f: Finding) => (f.rule && lookup(`finding.${f.rule}`)) || f.message || f.rule;
  return (
    <Alert
      data-testid="findings"
      style={{ marginBottom: 12 }}
      type={blocked ? 'error' : findings.length ? 'warning' : 'success'}
      message={findings.length === 0 ? t('send.checkClean') : t('send.checkFindings')}
      description={findings.map((f, i) => (
        <div key={i}>
          <Tag color={f.severity === 'block' ? 'red' : 'orange'}>
            {tr(`severity.${f.severity ?? 'warn'}`)}
          </Tag>
          {f.text ? `「${f.text}」` : ''}
          {explain(f)}
        </div>
      ))}
    />
  );
}
