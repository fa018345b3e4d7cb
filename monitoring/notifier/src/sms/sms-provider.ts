/** Sends one text message to one phone number; rejects when the provider did not accept it. */
export interface SmsProvider {
  readonly name: string;
  send(to: string, text: string): Promise<void>;
}
