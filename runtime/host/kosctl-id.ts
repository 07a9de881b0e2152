// placeholder replaced by the identity tool
export async function idCommand(_argv: string[]): Promise<number> {
  return 2;
}
