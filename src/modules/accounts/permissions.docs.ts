// Prints docs/permissions.md from the permission table: `npm run docs:permissions`.
import { renderPermissionsDoc } from './permissions.models.ts';

process.stdout.write(renderPermissionsDoc());
