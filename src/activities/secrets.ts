/**
 * The one rule for which environment variables are credentials: none of them reaches a command
 * task, a gate or an agent's shell.
 */
const SECRET_NAME =
  /(^ANTHROPIC_|^TEMPORAL_|^GITHUB_|^GH_|^AWS_|^NPM_|^PHASEFLOW_.*(KEY|TOKEN|SECRET)|KEY$|_KEY_|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}
