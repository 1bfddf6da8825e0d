export async function runSmppServerBench(_: { messages?: number | undefined }): Promise<void> {}
