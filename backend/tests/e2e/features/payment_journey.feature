Feature: Paying for an order
  As a customer
  I want my card payment to be confirmed
  So that I know my order is paid

  Scenario: A customer pays and Stripe's confirmation marks the payment succeeded
    Given I am a customer with an account
    When I start paying 15.00 USD for order "A-1001"
    Then my payment is waiting for a card
    When Stripe confirms that the card was charged
    Then my payment has succeeded
    When Stripe sends the same confirmation again
    Then my payment has succeeded
    And the payment was changed only once
