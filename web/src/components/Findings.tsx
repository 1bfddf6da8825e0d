// The rules engine's findings on a text: blocking ones in red, warnings in orange.
import { Alert, Tag } from 'antd';
import { useI18n } from '../i18n/i18n.tsx';

export interface Finding {
  rule?: string;
  severity?: string;
  text?: string;
  message?: string;
}

export function Findings({ findings, blocked }: { findings: Finding[]; blocked?: boolean }) {
  const { t, tr } = useI18n();
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
          {f.message ?? f.rule}
        </div>
      ))}
    />
  );
}
