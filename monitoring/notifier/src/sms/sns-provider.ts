import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import type { SmsProvider } from './sms-provider.js';

/** Builds the SNS request for one transactional SMS (alerts must not be throttled as promotional). */
export function snsSmsRequest(to: string, text: string, senderId?: string): PublishCommandInput {
  return {
    PhoneNumber: to,
    Message: text,
    MessageAttributes: {
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      ...(senderId ? { 'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: senderId } } : {}),
    },
  };
}

/** Production: Amazon SNS direct-to-phone publishing, with the instance role's credentials. */
export class SnsProvider implements SmsProvider {
  readonly name = 'sns';
  private readonly client: SNSClient;

  constructor(
    region: string,
    private readonly senderId?: string,
  ) {
    this.client = new SNSClient({ region, maxAttempts: 3 });
  }

  async send(to: string, text: string): Promise<void> {
    await this.client.send(new PublishCommand(snsSmsRequest(to, text, this.senderId)));
  }
}
