// Login: password, then the two-factor code when the account has it on.
import { useQueryClient } from '@tanstack/react-query';
import { Alert, Button } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { errorText, post } from '../api.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import './login.css';
import { useI18n } from '../i18n/i18n.tsx';

interface LoginAnswer {
  stage: string;
  challenge?: string;
  account?: { kind: 'member' | 'staff' };
}

export default function Login() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [challenge, setChallenge] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(step: () => Promise<LoginAnswer>) {
    setBusy(true);
    setError(null);
    try {
      const answer = await step();
      if (answer.stage === 'two_factor' && answer.challenge) {
        setChallenge(answer.challenge);
        return;
      }
      queryClient.clear();
      navigate(answer.account?.kind === 'staff' ? '/operator/reviews' : '/', { replace: true });
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const submitPassword = (form: HTMLFormElement) => {
    const data = new FormData(form);
    const v = { login: String(data.get('login') ?? '').trim(), password: String(data.get('password') ?? '') };
    if (!v.login || !v.password) return setError(t('form.required'));
    return run(() => post<LoginAnswer>('/v1/auth/login', v));
  };
  const submitCode = (form: HTMLFormElement) => {
    const code = String(new FormData(form).get('code') ?? '').trim();
    if (!code) return setError(t('form.required'));
    return run(() => post<LoginAnswer>('/v1/auth/login/two-factor', { challenge, code }));
  };

  // Plain form elements: antd's Form, Input and Card would add about 100 KB gzipped to the first load.
  return (
    <div className="hy-login">
      <div className="hy-login-card">
        <div className="hy-login-head">
          <h2>{t('app.name')}</h2>
          <LanguageSwitch />
        </div>
        {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        {challenge === null ? (
          <form
            key="password"
            onSubmit={(e) => {
              e.preventDefault();
              void submitPassword(e.currentTarget);
            }}
          >
            <label htmlFor="login">{t('login.login')}</label>
            <input id="login" name="login" autoComplete="username" autoFocus />
            <label htmlFor="password">{t('login.password')}</label>
            <input id="password" name="password" type="password" autoComplete="current-password" />
            <Button type="primary" htmlType="submit" block loading={busy}>
              {t('login.submit')}
            </Button>
          </form>
        ) : (
          <form
            key="code"
            onSubmit={(e) => {
              e.preventDefault();
              void submitCode(e.currentTarget);
            }}
          >
            <p>{t('login.twoFactorHint')}</p>
            <label htmlFor="code">{t('login.code')}</label>
            <input
              id="code"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              autoFocus
            />
            <Button type="primary" htmlType="submit" block loading={busy}>
              {t('login.verify')}
            </Button>
            <Button type="link" block onClick={() => setChallenge(null)}>
              {t('action.back')}
            </Button>
          </form>
        )}
      </div>
    </div>
  );
}
