import { Segmented } from 'antd';
import { type Lang, useI18n } from '../i18n/i18n.tsx';

export function LanguageSwitch() {
  const { lang, setLang } = useI18n();
  return (
    <Segmented<Lang>
      aria-label="language"
      value={lang}
      onChange={setLang}
      options={[
        { label: '简体中文', value: 'zh-CN' },
        { label: 'English', value: 'en-US' },
      ]}
    />
  );
}
